//! The door: access rules that allow, ask or deny per program, with the agent and without it;
//! `exec` refused before its program runs; what history records of who asked.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// `latchkey token ACCOUNT` run by a Python program (the program that will hold the token).
fn token_from_python(env: &Env, account: &str, agent: bool) -> Run {
    let script = format!(
        "import subprocess, sys\nr = subprocess.run([{:?}, 'token', {:?}], capture_output=True, text=True)\nsys.stdout.write(r.stdout); sys.stderr.write(r.stderr); sys.exit(r.returncode)",
        env!("CARGO_BIN_EXE_latchkey"),
        account
    );
    let mut cmd = env.tool("python3");
    cmd.args(["-c", &script]);
    if !agent {
        cmd.env("LATCHKEY_AGENT", "off");
    }
    Run::from(cmd.output().expect("run python3"))
}

/// The file name of the executable `python3` runs here (`python3.11`: what the door sees).
fn python_exe_name() -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, sys; print(os.path.basename(os.path.realpath(sys.executable)))",
        ])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn rule(env: &Env, line: &str) -> String {
    let out = env.cli(line);
    let id = out.success().stdout.trim().to_string();
    assert_eq!(id.len(), 8, "{out:?}");
    id
}

#[test]
fn a_deny_rule_refuses_one_program_with_the_agent_and_without() {
    let (_server, env) = signed_in("door");
    let id = rule(
        &env,
        &format!("access deny door --program {}", python_exe_name()),
    );
    for agent in [false, true] {
        if agent {
            env.run(&["agent", "start"]).success();
        }
        let refused = token_from_python(&env, "door", agent);
        refused.fails_with(9, &[&id, "latchkey access remove", "python3"]);
        assert!(refused.stdout.trim().is_empty(), "no token: {refused:?}");
        // The test binary itself is another program: allowed.
        let token = env.token(&["door"]);
        assert!(!token.is_empty());
    }
    let lines = history(&env);
    let refusals: Vec<&Value> = lines
        .iter()
        .filter(|l| l["decision"] == "refused")
        .collect();
    assert_eq!(refusals.len(), 2, "{lines:#?}");
    for r in &refusals {
        assert_eq!(r["rule"], id.as_str());
        assert!(
            r["exe"].as_str().is_some_and(|e| e.contains("python3")),
            "{r}"
        );
    }
    assert!(refusals.iter().any(|r| r["via"] == "agent"));
    assert!(refusals.iter().any(|r| r["via"] == "direct"));
    // The rule removed, and python3 allowed again at once (the agent included). Listing and
    // removing rules: src/cli/access.rs's tests.
    env.run(&["access", "remove", &id]).success();
    token_from_python(&env, "door", true).success();
    env.run(&["agent", "stop"]).success();
}

#[test]
fn exec_is_refused_before_its_program_runs() {
    let (_server, env) = signed_in("door");
    rule(&env, "access deny door --program touch");
    let marker = env.dir.join("ran");
    let out = Run::from(
        env.command(&["exec", "--env", "T=door", "--", "touch"])
            .arg(&marker)
            .env("LATCHKEY_AGENT", "off")
            .output()
            .unwrap(),
    );
    out.fails_with(9, &["touch"]);
    assert!(!marker.exists(), "the program ran");
    // Another program is allowed, and history names the program exec started.
    let out = env.run(&["exec", "--env", "T=door", "--", "true"]);
    out.success();
    let lines = history(&env);
    let last = lines.last().unwrap();
    assert_eq!(last["how"], "exec");
    assert!(
        last["exe"].as_str().is_some_and(|e| e.ends_with("/true")),
        "{last}"
    );
}

#[test]
fn an_expiring_allow_and_an_ask_with_nobody_to_ask() {
    let (_server, env) = signed_in("door");
    rule(&env, "access deny *");
    rule(
        &env,
        &format!("access allow door --program {} --for 6s", python_exe_name()),
    );
    token_from_python(&env, "door", false).success();
    std::thread::sleep(Duration::from_millis(6500));
    token_from_python(&env, "door", false).fails_with(9, &["denies"]);

    rule(&env, "access ask door/alice@example.test");
    let started = Instant::now();
    let out = token_from_python(&env, "door", false);
    out.fails_with(9, &["nobody to ask", "latchkey access allow"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    let lines = history(&env);
    assert_eq!(lines.last().unwrap()["decision"], "refused: nobody to ask");
    // Bad input: an unknown target, a relative program path, a bad duration.
    env.cli("access deny nosuch").fails_with(3, &["nosuch"]);
    env.cli("access deny door --program tools/ls")
        .fails_with(2, &["absolute path"]);
    env.cli("access allow door --for 1w")
        .fails_with(2, &["30s"]);
}

#[test]
fn history_names_the_program_the_agent_sees_not_what_a_client_claims() {
    let (_server, env) = signed_in("door");
    env.run(&["agent", "start"]).success();
    // A copy of python3 named `latchkey` asks the agent directly: it is the program, not
    // its parent, and it cannot ask for a `copy`.
    let fake = env.dir.join("latchkey");
    std::fs::copy("/usr/bin/python3", &fake).unwrap();
    let socket = env.dir.join("run/latchkey/agent.sock");
    let request = |how: &str| {
        serde_json::json!({
            "v": 1, "config": env.config_dir(), "op": "token",
            "account": "door", "min_valid": 60, "how": how,
        })
        .to_string()
    };
    let script = format!(
        "import socket, sys\nfor line in sys.argv[1:]:\n    s = socket.socket(socket.AF_UNIX)\n    s.connect({:?})\n    s.sendall(line.encode() + b'\\n')\n    print(s.makefile().readline().strip()[:40])",
        socket.to_string_lossy()
    );
    let out = Run::from(
        env.tool(fake.to_str().unwrap())
            .args(["-c", &script, &request("token"), &request("copy")])
            .output()
            .unwrap(),
    );
    let answers: Vec<&str> = out.success().stdout.lines().collect();
    assert!(answers[0].contains("\"status\":\"ok\""), "{out:?}");
    assert!(answers[1].contains("\"status\":\"error\""), "{out:?}");
    let lines = history(&env);
    let last = lines.last().unwrap();
    assert_eq!(last["exe"].as_str(), Some(fake.to_str().unwrap()), "{last}");
    assert_eq!(last["via"], "agent");
    assert_eq!(last["how"], "token");
    env.run(&["agent", "stop"]).success();
}

/// CPU time (user + system, in clock ticks) of process `pid`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn an_agent_out_of_descriptors_backs_off_instead_of_spinning() {
    let (_server, env) = signed_in("door");
    let log = env.dir.join("agent-run.log");
    // Few descriptors: a handful of idle clients exhausts them.
    let mut agent = env
        .tool("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 24; exec {} agent run 2>{}",
            env!("CARGO_BIN_EXE_latchkey"),
            log.display()
        ))
        .spawn()
        .unwrap();
    let socket = env.dir.join("run/latchkey/agent.sock");
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut idle = Vec::new();
    for _ in 0..40 {
        if let Ok(s) = std::os::unix::net::UnixStream::connect(&socket) {
            idle.push(s);
        }
    }
    let before = cpu_ticks(agent.id());
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(agent.id()) - before;
    // Spinning would use ~300 ticks (3 s of a core); backing off uses next to none.
    assert!(used < 30, "the agent used {used} ticks in 3 s");
    let log_size = std::fs::metadata(&log).unwrap().len();
    assert!(log_size < 4096, "{log_size} bytes of log");
    // The clients go; the agent serves again.
    drop(idle);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!env.token(&["door"]).is_empty());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("backing off"), "{text}");
    let _ = agent.kill();
    let _ = agent.wait();
}

#[test]
fn a_reader_that_stops_early_ends_history_quietly() {
    let env = Env::new();
    let dir = env.mkdir("state/latchkey");
    let line =
        r#"{"time":1,"account":"p/a","how":"token","via":"direct","pid":2,"exe":"/usr/bin/x"}"#;
    std::fs::write(dir.join("history.jsonl"), format!("{line}\n").repeat(5000)).unwrap();
    let script = format!(
        "{} history --json --limit 5000 2>{}/err | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_latchkey"),
        env.dir.display()
    );
    let out = Run::from(env.tool("bash").args(["-c", &script]).output().unwrap());
    let code = out.success().stdout.trim().to_string();
    assert!(code == "141" || code == "0", "exit {code}");
    let err = std::fs::read_to_string(env.dir.join("err")).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
}
