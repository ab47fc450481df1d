//! `latchkey agent`: tokens from memory over the socket, the same answers as the keychain
//! path, a dead agent costing nothing, the peer check, hostile requests, the history.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

fn socket(env: &Env) -> PathBuf {
    env.dir.join("run/latchkey/agent.sock")
}

/// `latchkey agent start`, which must succeed: the agent's pid.
#[track_caller]
fn start_agent(env: &Env) -> u32 {
    let out = env.run(&["agent", "start"]);
    out.says(&["the agent is running (pid "]);
    pid_in(&out.stdout)
}

fn pid_in(text: &str) -> u32 {
    text.split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {text:?}"))
}

/// `latchkey …` without the agent.
fn direct(env: &Env, args: &[&str]) -> Run {
    Run::from(
        env.command(args)
            .env("LATCHKEY_AGENT", "off")
            .output()
            .expect("run latchkey"),
    )
}

/// One raw request line on the socket; the answer.
fn raw(env: &Env, request: &[u8]) -> String {
    let mut stream = UnixStream::connect(socket(env)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn token_request(env: &Env, account: &str) -> String {
    serde_json::json!({
        "v": 1,
        "config": env.config_dir(),
        "op": "token",
        "account": account,
        "min_valid": 60,
        "how": "token",
    })
    .to_string()
        + "\n"
}

#[test]
fn the_agent_answers_token_as_the_keychain_would_and_the_history_says_so() {
    let (server, env) = signed_in("agented");
    start_agent(&env);
    let via_agent = env.token(&["agented"]);
    let without = direct(&env, &["token", "agented"]);
    assert_eq!(without.success().stdout.trim(), via_agent);
    // The headers helper's shape (an MCP client runs it for every connection).
    let headers: Value = serde_json::from_str(
        &env.run(&["token", "agented", "--format", "headers-json"])
            .stdout,
    )
    .expect("headers json");
    assert_eq!(headers["Authorization"], format!("Bearer {via_agent}"));
    assert_accepted_for_alice(&server, &via_agent);
    // Every format, and errors with their exit codes, are the same either way.
    for args in [
        &["token", "agented", "--format", "header"][..],
        &["token", "agented", "--format", "json"],
        &["token", "agented", "--format", "headers-json"],
        &["token", "nosuch"],
        &["refresh", "nosuch"],
    ] {
        let (a, d) = (env.run(args), direct(&env, args));
        assert_eq!((a.code, &a.stderr), (d.code, &d.stderr), "{args:?}");
        let strip = |text: &str| {
            text.split("\"expires_in\"")
                .next()
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(strip(&a.stdout), strip(&d.stdout), "{args:?}");
    }
    // Refresh through the agent: one request to the provider, the new token served after.
    let before = server.count("refresh_token");
    let fresh = env.refresh("agented");
    assert_eq!(server.count("refresh_token"), before + 1);
    assert_eq!(env.token(&["agented"]), fresh);
    assert_eq!(stored_tokens(&env, "agented").access_token.secret(), &fresh);

    let lines = history(&env);
    let me = u64::from(std::process::id());
    let first = &lines[0];
    assert_eq!(first["via"], "agent", "{lines:#?}");
    assert_eq!(first["how"], "token");
    assert_eq!(first["account"], "agented/alice@example.test");
    assert_eq!(first["pid"], me, "the test asked, through `latchkey token`");
    assert!(first["exe"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(first["client_pid"].as_u64().is_some_and(|p| p != me));
    assert_eq!(lines[1]["via"], "direct");
    assert_eq!(lines[1]["pid"], me);
    assert!(
        lines
            .iter()
            .any(|l| l["how"] == "refresh" && l["via"] == "agent")
    );
    // `--account` by profile, `--limit`, and the table.
    let last = env.run(&["history", "--account", "agented", "--limit", "2"]);
    last.says(&["agented/alice@example.test", "refresh", "token", "agent"]);
    assert_eq!(last.stdout.lines().count(), 3, "{last:?}");
    // A name that is no account, profile or history entry is not found.
    env.run(&["history", "--account", "other"])
        .fails_with(3, &["`other`"]);

    // No token anywhere in the history, nor in the agent's log.
    let rt = stored_refresh_token(&env, "agented");
    let mut files = vec![
        env.dir.join("state/latchkey/history.jsonl"),
        env.dir.join("run/latchkey/agent.log"),
    ];
    files.retain(|f| f.exists());
    assert_eq!(files.len(), 2);
    for secret in [&via_agent, &fresh, &rt] {
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            assert!(
                !text.contains(secret.as_str()),
                "a token in {}",
                file.display()
            );
        }
    }
}

#[test]
fn a_killed_agent_costs_nothing_and_start_replaces_its_socket() {
    let (_server, env) = signed_in("killed");
    let pid = start_agent(&env);
    let token = env.token(&["killed"]);
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    // Its socket file stays behind; nobody listens on it.
    let gone = Instant::now();
    while UnixStream::connect(socket(&env)).is_ok() && gone.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(socket(&env).exists());

    let started = Instant::now();
    assert_eq!(env.token(&["killed"]), token);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the keychain answers at once: {:?}",
        started.elapsed()
    );
    assert_eq!(history(&env).last().unwrap()["via"], "direct");
    env.run(&["agent", "status"])
        .fails_with(3, &["the agent is not running"]);

    let again = start_agent(&env);
    assert_ne!(again, pid);
    env.run(&["agent", "status"])
        .says(&[&format!("(pid {again})")]);
    assert_eq!(env.token(&["killed"]), token);
    assert_eq!(history(&env).last().unwrap()["via"], "agent");
}

#[test]
fn a_second_start_says_the_agent_is_running_and_stop_stops_it() {
    let env = Env::new();
    let pid = start_agent(&env);
    let second = env.run(&["agent", "start"]);
    second.says(&["already running", &format!("(pid {pid})")]);
    // A second `agent run` refuses too (the lock), and the first keeps serving.
    env.run(&["agent", "run"])
        .fails_with(2, &["an agent is already running"]);
    env.run(&["agent", "status"])
        .says(&[&format!("(pid {pid})")]);
    env.run(&["agent", "stop"]).says(&["the agent stopped"]);
    assert!(!socket(&env).exists(), "the socket is removed on stop");
    env.run(&["agent", "stop"]).says(&["not running"]);
}

#[test]
fn a_logout_without_the_agent_is_honoured_at_once() {
    let (_server, env) = signed_in("gone");
    start_agent(&env);
    env.token(&["gone"]);
    // A mistyped name gets the same "did you mean" through the agent as without it.
    let (a, d) = (
        env.run(&["token", "gonee"]),
        direct(&env, &["token", "gonee"]),
    );
    a.fails_with(3, &["did you mean `gone"]);
    assert_eq!((a.code, a.stderr), (d.code, d.stderr));
    direct(&env, &["logout", "gone", "--no-revoke"]).success();
    let (a, d) = (
        env.run(&["token", "gone"]),
        direct(&env, &["token", "gone"]),
    );
    a.fails_with(3, &["account `gone` not found"]);
    assert_eq!((a.code, a.stderr), (d.code, d.stderr));
}

#[test]
fn the_agent_refreshes_in_the_background_with_no_caller() {
    let server = AuthServer::start_with_ttl(8);
    let env = signed_in_at(&server, "early");
    let first = stored_tokens(&env, "early").access_token.secret().clone();
    start_agent(&env);
    // An 8 s token is refreshed half-way (the margin is at most half the lifetime).
    let waited = Instant::now();
    while server.count("refresh_token") == 0 && waited.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.count("refresh_token") >= 1, "{}", server.stats());
    let now = stored_tokens(&env, "early");
    assert_ne!(now.access_token.secret(), &first);
    assert_accepted_for_alice(&server, now.access_token.secret());
    assert!(
        history(&env).is_empty(),
        "a background refresh hands nothing out"
    );
}

#[test]
fn an_agent_started_before_any_config_refreshes_an_account_signed_in_later() {
    let server = AuthServer::start_with_ttl(8);
    let env = Env::new();
    assert!(!env.config_dir().exists(), "a first run");
    start_agent(&env);
    // The CLI signs in on its own: only the agent's watch on the directory tells it.
    env.add_profile(&server, "late", "public-app", None);
    env.login("late").success();
    let waited = Instant::now();
    while server.count("refresh_token") == 0 && waited.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.count("refresh_token") >= 1, "{}", server.stats());
}

#[test]
fn malformed_oversized_and_slow_requests_get_errors_and_others_are_served() {
    let (_server, env) = signed_in("hostile");
    start_agent(&env);
    let token = env.token(&["hostile"]);
    // A slow client holds its connection open without a word meanwhile.
    let slow = UnixStream::connect(socket(&env)).unwrap();
    let answer = raw(&env, b"{not json\n");
    assert!(answer.contains("\"status\":\"error\"") && answer.contains("not one line of JSON"));
    let answer = raw(&env, &vec![b'x'; 10_000]);
    assert!(answer.contains("longer than 4096 bytes"), "{answer}");
    let answer = raw(&env, b"{\"v\":9,\"config\":\"/\",\"op\":\"ping\"}\n");
    assert!(answer.contains("version 9"), "{answer}");
    let started = Instant::now();
    assert_eq!(env.token(&["hostile"]), token);
    assert!(started.elapsed() < Duration::from_secs(1));
    let answer = raw(&env, token_request(&env, "hostile").as_bytes());
    assert!(
        answer.contains(&token),
        "a well-formed raw request is served"
    );
    drop(slow);
}

#[test]
fn the_socket_refuses_another_uid_even_with_its_modes_loosened() {
    use std::os::unix::fs::PermissionsExt;
    let (_server, env) = signed_in("private");
    start_agent(&env);
    let token = env.token(&["private"]);
    for path in [
        env.dir.clone(),
        env.dir.join("run"),
        socket(&env).parent().unwrap().to_path_buf(),
        socket(&env),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    // The owner is still served, whatever the modes.
    assert!(raw(&env, token_request(&env, "private").as_bytes()).contains(&token));

    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root || std::env::var_os("LATCHKEY_TEST_NOT_ROOT").is_some(),
        "this test runs a client as `nobody` with setpriv, which needs root (CI runs as root); \
         set LATCHKEY_TEST_NOT_ROOT=1 to run the rest without that check"
    );
    if !root {
        return;
    }
    let client = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
try:
    s.sendall(sys.argv[2].encode())
except OSError:
    pass  # refused before the request was read
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode())
"#;
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            client,
        ])
        .arg(socket(&env))
        .arg(token_request(&env, "private"))
        .env_clear()
        .output()
        .expect("setpriv");
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        answer.contains("refused: this agent serves uid 0 only, not uid 65534"),
        "{answer}"
    );
    assert!(!answer.contains(&token));
    // And the agent keeps serving its user.
    assert_eq!(env.token(&["private"]), token);
}

#[test]
fn an_account_signed_in_after_the_agent_started_is_kept_fresh_with_no_caller() {
    let server = AuthServer::start_with_ttl(8);
    let env = Env::new();
    env.add_profile(&server, "later", "public-app", None);
    start_agent(&env);
    // Signed in by the CLI while the agent runs; nothing asks the agent for it afterwards.
    env.login("later").success();
    let first = stored_tokens(&env, "later").access_token.secret().clone();
    let waited = Instant::now();
    while server.count("refresh_token") == 0 && waited.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.count("refresh_token") >= 1, "{}", server.stats());
    assert_ne!(stored_tokens(&env, "later").access_token.secret(), &first);
    env.run(&["agent", "stop"]).success();
}

/// What the agent has read from files so far (`rchar` of /proc/PID/io).
fn bytes_read(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("/proc/PID/io");
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rchar in {io}"))
}

#[test]
fn an_agent_at_rest_reads_nothing_after_a_change_it_followed() {
    let (_server, env) = signed_in("resting");
    let pid = start_agent(&env);
    // A change it follows (the metadata rewritten by a refresh), then quiet.
    env.run(&["refresh", "resting"]).success();
    std::thread::sleep(Duration::from_millis(500));
    let before = bytes_read(pid);
    std::thread::sleep(Duration::from_millis(800));
    // Its own reads of the config must not wake it again (inotify reports opens and reads):
    // not one more read of accounts.toml (its wake-ups read a few bytes of their own).
    let file = std::fs::metadata(env.config_dir().join("accounts.toml"))
        .expect("accounts.toml")
        .len();
    let read = bytes_read(pid) - before;
    assert!(
        read < file,
        "the agent kept reading at rest: {read} bytes in 0.8 s"
    );
    env.run(&["agent", "stop"]).success();
}

#[test]
fn an_agent_of_another_config_directory_is_named_as_such() {
    let env = Env::new();
    start_agent(&env);
    // The same socket, another config directory.
    let other = |verb: &str| {
        let mut cmd = env.command(&["agent", verb]);
        cmd.env("XDG_CONFIG_HOME", env.dir.join("config2"));
        run_with_stdin(cmd, "")
    };
    for verb in ["status", "start"] {
        other(verb).fails_with(
            3,
            &[
                "serves another config directory, not",
                "config2",
                "stop that agent",
            ],
        );
    }
    env.run(&["agent", "stop"]).says(&["the agent stopped"]);
}
