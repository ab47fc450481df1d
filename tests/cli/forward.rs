//! The agent forwarded over SSH: a real sshd (tests/cli/sshd.rs), `latchkey ssh` (and the plain
//! `ssh -R` form) running `latchkey` on the far side as another user with only the binary: no
//! config, no keychain, no D-Bus there.

use std::process::Stdio;

use serde_json::Value;

use crate::sshd::Sshd;
use crate::util::*;

/// Removes the far side's forwarded sockets nobody listens on any more (sshd leaves them behind
/// when a session ends).
fn remove_stale_forwards() {
    for entry in std::fs::read_dir("/tmp").unwrap().filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("latchkey-forward-")
            && std::os::unix::net::UnixStream::connect(&path)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// `latchkey ssh OPTIONS… DESTINATION REMOTE_COMMAND` from `env`.
fn latchkey_ssh(env: &Env, sshd: &Sshd, remote_command: &str) -> Run {
    let options = sshd.ssh_options();
    let mut args: Vec<&str> = vec!["ssh"];
    args.extend(options.iter().map(String::as_str));
    let destination = sshd.destination();
    args.push(&destination);
    args.push(remote_command);
    env.run(&args)
}

#[test]
fn latchkey_ssh_forwards_the_agent_asked_by_default_allowed_by_a_rule() {
    let (server, env) = signed_in("fwd");
    let local = env.token(&["fwd"]);
    let sshd = Sshd::start();
    let remote = sshd.install_for_remote(std::path::Path::new(env!("CARGO_BIN_EXE_latchkey")));
    // No agent yet: `latchkey ssh` starts it.
    let command = format!("env -u XDG_RUNTIME_DIR {} token fwd", remote.display());

    // No rule: forwarded requests are asked, and nobody is there to ask.
    let out = latchkey_ssh(&env, &sshd, &command);
    assert_eq!(out.code, 9, "{out:#?}\nsshd log:\n{}", sshd.log());
    assert!(out.stderr.contains("refused to /usr/bin/ssh"), "{out:#?}");
    assert!(
        env.dir.join("run/latchkey/agent.sock").exists(),
        "the agent was started"
    );
    let last = history(&env).last().cloned().unwrap();
    assert_eq!(last["via"], "forwarded", "{last}");
    assert_eq!(last["from"], sshd.destination().as_str(), "{last}");
    assert_eq!(last["decision"], "refused: nobody to ask", "{last}");

    // Allowed for the local ssh client: the same token on the far side.
    env.cli("access allow fwd --program ssh").success();
    let out = latchkey_ssh(&env, &sshd, &command);
    assert_eq!(out.code, 0, "{out:#?}\nsshd log:\n{}", sshd.log());
    assert_eq!(out.stdout.trim(), local);
    let last = history(&env).last().cloned().unwrap();
    assert_eq!(last["via"], "forwarded", "{last}");
    assert_eq!(last["from"], sshd.destination().as_str(), "{last}");
    assert_eq!(last["decision"], "allowed", "{last}");
    assert!(
        last["exe"].as_str().is_some_and(|e| e.ends_with("/ssh")),
        "{last}"
    );
    // The far side may not make every request a refresh at the provider: its `refresh` gets
    // the token while it stays valid for the longest a remote caller may ask.
    let refreshes = server.count("refresh_token");
    for _ in 0..2 {
        let command = format!("env -u XDG_RUNTIME_DIR {} refresh fwd", remote.display());
        let out = latchkey_ssh(&env, &sshd, &command);
        assert_eq!(out.code, 0, "{out:#?}\nsshd log:\n{}", sshd.log());
        assert_eq!(out.stdout.trim(), local);
    }
    assert_eq!(
        server.count("refresh_token"),
        refreshes,
        "{}",
        server.stats()
    );
    let last = history(&env).last().cloned().unwrap();
    assert_eq!(
        (&last["how"], &last["via"]),
        (&"refresh".into(), &"forwarded".into())
    );
    // Here, `refresh` still refreshes.
    assert_ne!(env.refresh("fwd"), local);
    assert_eq!(server.count("refresh_token"), refreshes + 1);

    // The session's forwarding socket is gone with the session.
    let forwards: Vec<_> = std::fs::read_dir(env.dir.join("run/latchkey"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("forward-"))
        .collect();
    assert!(forwards.is_empty(), "{forwards:?}");

    // The agent stops while a session is open, and its forwarding socket goes with it.
    let options = sshd.ssh_options();
    let mut args: Vec<&str> = vec!["ssh"];
    args.extend(options.iter().map(String::as_str));
    let destination = sshd.destination();
    args.extend([destination.as_str(), "sleep 8"]);
    let mut session = env
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("latchkey ssh");
    let dir = env.dir.join("run/latchkey");
    let open = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with("forward-"))
    };
    let start = std::time::Instant::now();
    while !open() && start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(open(), "a forwarding socket while the session lasts");
    env.run(&["agent", "stop"]).success();
    assert!(!open(), "removed when the agent stopped");
    let _ = session.kill();
    let _ = session.wait();
    remove_stale_forwards();
}

#[test]
fn plain_ssh_r_with_latchkey_agent_sock_on_the_far_side() {
    let (_server, env) = signed_in("fwd");
    let local = env.token(&["fwd"]);
    env.run(&["agent", "start"]).success();
    env.cli("access allow fwd --program ssh").success();
    let sshd = Sshd::start();
    let remote = sshd.install_for_remote(std::path::Path::new(env!("CARGO_BIN_EXE_latchkey")));
    let remote_socket = sshd.remote_dir.join("agent.sock");
    let [r, spec] =
        Sshd::forward_socket_args(&remote_socket, &env.dir.join("run/latchkey/forward.sock"));
    let run = |command: &str| {
        let script = format!(
            "export LATCHKEY_AGENT_SOCK={}; {command}",
            remote_socket.display()
        );
        Run::from(
            sshd.ssh_to(&[&r, &spec], &script)
                .stdin(Stdio::null())
                .output()
                .expect("ssh -R"),
        )
    };
    let bin = remote.display();
    let out = run(&format!(
        "{bin} token fwd && {bin} token fwd --format header"
    ));
    assert_eq!(out.code, 0, "{out:#?}\nsshd log:\n{}", sshd.log());
    assert_eq!(
        out.stdout,
        format!("{local}\nAuthorization: Bearer {local}\n")
    );
    // exec: the token in the program's environment.
    let out = run(&format!("{bin} exec --env T=fwd -- sh -c 'echo \"$T\"'"));
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.stdout.trim(), local);
    let last = history(&env).last().cloned().unwrap();
    assert_eq!(last["via"], "forwarded", "{last}");
    assert!(last["from"].is_null(), "{last}");
    // The tool helpers, through the same socket.
    let out = run(&format!("{bin} kube-credential fwd"));
    assert_eq!(out.code, 0, "{out:#?}");
    let credential: Value = serde_json::from_str(&out.stdout).expect("ExecCredential");
    assert_eq!(credential["status"]["token"], local.as_str());
    let out = run(&format!(
        "printf 'protocol=https\\nhost=git.example.com\\n\\n' | GIT_TERMINAL_PROMPT=0 {bin} git-credential --host git.example.com fwd get"
    ));
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stdout.contains(&format!("password={local}")),
        "{out:#?}"
    );
    // An account the agent does not know: the agent's exit code (3), not a local keychain's.
    let out = run(&format!("{bin} token nosuch"));
    assert_eq!(out.code, 3, "{out:#?}");
    // No agent behind the variable: an error naming it, no keychain tried.
    let out = Run::from(
        sshd.ssh_to(
            &[],
            &format!(
                "LATCHKEY_AGENT_SOCK={} {bin} token fwd",
                remote_socket.display()
            ),
        )
        .stdin(Stdio::null())
        .output()
        .expect("ssh"),
    );
    assert_eq!(out.code, 6, "{out:#?}");
    assert!(out.stderr.contains("LATCHKEY_AGENT_SOCK"), "{out:#?}");
    env.run(&["agent", "stop"]).success();
}
