//! The headless agent's desktop notification when a background refresh meets `invalid_grant`,
//! shown by a real notification daemon: dunst, on the test's private session bus, drawing on a
//! private Xvfb display, and asked afterwards what it showed (`dunstctl history`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// dunst on the session bus of `scripts/with-keyring`, on an Xvfb display of its own. Both end
/// when dropped.
struct Dunst {
    dunst: Child,
    xvfb: Child,
}

impl Dunst {
    fn start() -> Self {
        Self::start_with(None)
    }

    /// dunst with `config` as its configuration file.
    fn start_with(config: Option<&std::path::Path>) -> Self {
        // -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "640x480x24",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/setup installs it)");
        let display = first_line(&mut xvfb, "Xvfb's display number");
        let mut dunst = Command::new("dunst");
        if let Some(config) = config {
            dunst.arg("-config").arg(config);
        }
        let dunst = dunst
            .env("DISPLAY", format!(":{display}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst (scripts/setup installs it)");
        let started = Instant::now();
        while !name_has_owner("org.freedesktop.Notifications") {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "dunst never took the notifications name"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Dunst { dunst, xvfb }
    }

    /// What dunst has shown: the notifications on screen are closed first, which moves them
    /// into its history.
    fn shown(&self) -> String {
        let dunstctl = |arg: &str| {
            let out = Command::new("dunstctl")
                .arg(arg)
                .output()
                .expect("dunstctl");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        dunstctl("close-all");
        dunstctl("history")
    }
}

impl Drop for Dunst {
    fn drop(&mut self) {
        for child in [&mut self.dunst, &mut self.xvfb] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether a process owns `name` on the session bus (asked without starting anyone).
fn name_has_owner(name: &str) -> bool {
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{name}"),
        ])
        .output()
        .expect("dbus-send");
    String::from_utf8_lossy(&out.stdout).contains("boolean true")
}

/// A running agent whose account `name` meets invalid_grant at its background refresh, due
/// half-way through an 8 s token: someone else has spent the refresh token (returned).
fn agent_meeting_invalid_grant(name: &str) -> (AuthServer, Env, String) {
    let server = AuthServer::start_with_ttl(8);
    let env = signed_in_at(&server, name);
    let rt = stored_refresh_token(&env, name);
    assert_eq!(server.refresh_directly("public-app", &rt).0, 200);
    env.run(&["agent", "start"]).success();
    (server, env, rt)
}

#[test]
fn an_invalid_grant_in_the_background_is_a_desktop_notification() {
    let dunst = Dunst::start();
    let (_server, env, rt) = agent_meeting_invalid_grant("notified");
    let waited = Instant::now();
    let mut shown = dunst.shown();
    while !shown.contains("Latchkey: sign in again") && waited.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(250));
        shown = dunst.shown();
    }
    env.run(&["agent", "stop"]).success();
    assert!(shown.contains("Latchkey: sign in again"), "{shown}");
    assert!(
        shown.contains(
            "The provider no longer accepts the sign-in of notified/alice@example.test. Run `latchkey login notified --account alice@example.test`."
        ),
        "{shown}"
    );
    assert_eq!(env.accounts()[0]["status"], "needs sign-in");
    assert!(!shown.contains(&rt), "no token in a notification");
}

#[test]
fn without_a_notification_daemon_the_agent_carries_on() {
    // No daemon owns the name (and none is started for the agent): the refresh's failure is
    // still recorded, and the agent still answers.
    assert!(!name_has_owner("org.freedesktop.Notifications"));
    let (_server, env, _) = agent_meeting_invalid_grant("unnotified");
    let waited = Instant::now();
    while env.accounts()[0]["status"] != "needs sign-in"
        && waited.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(env.accounts()[0]["status"], "needs sign-in");
    assert!(!name_has_owner("org.freedesktop.Notifications"));
    env.run(&["agent", "status"]).success();
    env.run(&["token", "unnotified"])
        .fails_with(4, &["needs sign-in", "latchkey login unnotified"]);
    env.run(&["agent", "stop"]).success();
}

/// A running `latchkey token` the agent is asking about: once dunst shows the question, the
/// action `label` is picked from its context menu (`dunstctl context` runs the configured
/// menu program, a script that picks the line naming `label`); the command's outcome.
fn answer_by_notification(env: &Env, pick: &std::path::Path, label: &str) -> Run {
    // Nothing on screen but this question: the context menu lists every shown notification's
    // actions.
    let closed = Command::new("dunstctl").arg("close-all").status();
    assert!(closed.is_ok_and(|s| s.success()));
    let child = env.spawn(&["token", "door"]);
    let waited = Instant::now();
    loop {
        let out = Command::new("dunstctl")
            .args(["count", "displayed"])
            .output()
            .expect("dunstctl");
        if String::from_utf8_lossy(&out.stdout).trim() != "0" {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the question never showed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(pick, label).expect("pick file");
    let status = Command::new("dunstctl")
        .arg("context")
        .status()
        .expect("dunstctl context");
    assert!(status.success());
    Run::from(child.wait_with_output().expect("token"))
}

#[test]
fn the_headless_agent_asks_by_notification() {
    let (_server, env) = signed_in("door");
    // dunst's context menu program: the line of the action the test wrote in the pick file.
    let pick = env.dir.join("pick");
    let menu = env.dir.join("menu.sh");
    std::fs::write(
        &menu,
        format!("#!/bin/sh\ngrep -F -m1 \"$(cat '{}')\"\n", pick.display()),
    )
    .expect("menu script");
    std::fs::set_permissions(&menu, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let config = env.dir.join("dunstrc");
    std::fs::write(
        &config,
        format!("[global]\n    dmenu = {}\n", menu.display()),
    )
    .expect("dunstrc");
    let dunst = Dunst::start_with(Some(&config));
    env.cli("access ask door/alice@example.test").success();
    env.run(&["agent", "start"]).success();

    let allowed = answer_by_notification(&env, &pick, "Allow once");
    allowed.success();
    assert!(!allowed.stdout.trim().is_empty());
    let denied = answer_by_notification(&env, &pick, "Deny");
    denied.fails_with(9, &["denied"]);
    // The deny is kept as a rule for the program that asked.
    let rules = env.run(&["access", "list", "--json"]);
    assert!(rules.stdout.contains("\"deny\""), "{}", rules.stdout);
    let shown = dunst.shown();
    assert!(shown.contains("Latchkey: allow a token?"), "{shown}");
    assert!(
        !shown.contains(allowed.stdout.trim()),
        "no token in a notification"
    );
    let history = env.run(&["history", "--json"]).stdout;
    assert!(history.contains("asked: allow once"), "{history}");
    assert!(history.contains("asked: deny"), "{history}");
    env.run(&["agent", "stop"]).success();
}
