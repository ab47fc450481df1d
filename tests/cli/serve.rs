//! `latchkey serve`: tokens over HTTP for a container or VM, and the same `latchkey` binary as
//! its client there (`LATCHKEY_URL`, `LATCHKEY_SERVE_TOKEN`; no keychain, no config, no agent).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::*;

/// A running `latchkey serve` and the two lines it printed.
struct Serving {
    child: Child,
    url: String,
    bearer: String,
}

impl Serving {
    fn start(env: &Env, args: &[&str]) -> Self {
        let mut child = env
            .command(&[&["serve"], args].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn latchkey serve");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = |prefix: &str| {
            let mut line = String::new();
            out.read_line(&mut line).expect("read a line of serve");
            line.trim()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("serve printed {line:?}, not {prefix}…"))
                .to_string()
        };
        let url = line("LATCHKEY_URL=");
        let bearer = line("LATCHKEY_SERVE_TOKEN=");
        assert!(url.starts_with("http://"), "{url}");
        assert_eq!(bearer.len(), 32, "{bearer}");
        Serving { child, url, bearer }
    }

    /// Stops it with SIGTERM; its standard error (the request log).
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let status = self.child.wait().expect("wait serve");
        assert!(status.success(), "serve ended with {status}");
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut log)
            .expect("read serve's log");
        log
    }

    /// `curl` from this host: status and body.
    fn curl(&self, path: &str, bearer: Option<&str>) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "30", "-w", "\n%{http_code}"]);
        if let Some(bearer) = bearer {
            cmd.arg("-H").arg(format!("Authorization: Bearer {bearer}"));
        }
        let out = cmd
            .arg(format!("{}{path}", self.url))
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').expect("status line");
        (code.parse().expect("status"), body.to_string())
    }
}

/// A `latchkey` with only the endpoint's variables, a fresh HOME and no D-Bus, on this host.
fn client_here(serving: &Serving, bearer: &str, home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("LATCHKEY_URL", &serving.url)
        .env("LATCHKEY_SERVE_TOKEN", bearer)
        .stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command) -> Run {
    Run::from(cmd.output().expect("run latchkey"))
}

#[test]
fn serve_on_loopback_hands_out_listed_accounts_to_the_bearer_only() {
    let (_server, env) = signed_in("svc");
    let host_token = env.token(&["svc"]);
    let serving = Serving::start(&env, &["--account", "svc", "--name", "loop"]);
    assert!(
        serving.url.starts_with("http://127.0.0.1:"),
        "{}",
        serving.url
    );

    // The HTTP surface.
    let (status, body) = serving.curl("/v1/token/svc?min_valid=30", Some(&serving.bearer));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["access_token"], host_token.as_str());
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer["expires_at"].as_i64().is_some(), "{body}");
    assert_eq!(serving.curl("/v1/token/svc", None).0, 401);
    assert_eq!(serving.curl("/v1/token/svc", Some("0123")).0, 401);
    let (status, body) = serving.curl("/v1/token/other", Some(&serving.bearer));
    assert_eq!(status, 403, "{body}");
    assert_eq!(serving.curl("/v1/other", Some(&serving.bearer)).0, 404);
    assert_eq!(serving.curl("/", None).0, 404);

    // The client: the same binary with a fresh HOME and only the two variables.
    let home = env.mkdir("client-home");
    let out = run({
        let mut c = client_here(&serving, &serving.bearer, &home);
        c.args(["token", "svc"]);
        c
    });
    assert_eq!(out.success().stdout.trim(), host_token);
    // Not even a HOME (a bare container).
    let out = run({
        let mut c = client_here(&serving, &serving.bearer, &home);
        c.env_remove("HOME")
            .args(["token", "svc", "--format", "json"]);
        c
    });
    let json: Value = serde_json::from_str(&out.success().stdout).expect("json");
    assert_eq!(json["access_token"], host_token.as_str());
    run({
        let mut c = client_here(&serving, &serving.bearer, &home);
        c.args(["refresh", "svc"]);
        c
    })
    .fails_with(2, &["latchkey serve"]);
    run({
        let mut c = client_here(&serving, &serving.bearer, &home);
        c.args(["exec", "--env", "T=svc", "--", "sh", "-c", "test -n \"$T\""]);
        c
    })
    .success();
    run({
        let mut c = client_here(&serving, "wrong", &home);
        c.args(["token", "svc"]);
        c
    })
    .fails_with(9, &["does not accept LATCHKEY_SERVE_TOKEN"]);
    assert_eq!(
        std::fs::read_dir(&home).expect("home").count(),
        0,
        "the client wrote to its HOME"
    );

    let log = serving.stop();
    assert!(log.contains("GET /v1/token/svc 200"), "{log}");
    assert!(log.contains("GET /v1/token/svc 401"), "{log}");
    assert!(log.contains("GET /v1/token/other 403"), "{log}");
    assert!(!log.contains(&host_token), "the log shows a token: {log}");
    assert!(!log.contains("min_valid"), "the log shows the query: {log}");
    let served: Vec<_> = history(&env)
        .into_iter()
        .filter(|e| e["via"] == "serve")
        .collect();
    assert!(!served.is_empty(), "no serve line in history");
    assert!(
        served.iter().all(|e| e.to_string().contains("serve:loop")),
        "{served:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn serve_reaches_a_client_in_a_network_namespace() {
    use crate::netns::Netns;

    let (_server, env) = signed_in("svc");
    let host_token = env.token(&["svc"]);
    let ns = Netns::create();
    let listen = format!("{}:0", ns.host_addr);
    let serving = Serving::start(
        &env,
        &["--account", "svc", "--listen", &listen, "--name", "box"],
    );
    assert!(
        serving
            .url
            .starts_with(&format!("http://{}:", ns.host_addr)),
        "{}",
        serving.url
    );
    let inside = |bearer: &str, args: &[&str]| {
        let mut cmd = ns.command_with_env(
            &[
                ("LATCHKEY_URL", &serving.url),
                ("LATCHKEY_SERVE_TOKEN", bearer),
            ],
            env!("CARGO_BIN_EXE_latchkey"),
        );
        cmd.args(args).stdin(Stdio::null());
        run(cmd)
    };
    let bearer = serving.bearer.clone();

    let out = inside(&bearer, &["token", "svc"]);
    assert_eq!(out.success().stdout.trim(), host_token);
    inside(
        &bearer,
        &["exec", "--env", "T=svc", "--", "sh", "-c", "test -n \"$T\""],
    )
    .success();
    // The tool helpers, through the same endpoint.
    let out = inside(&bearer, &["kube-credential", "svc"]);
    let credential: Value = serde_json::from_str(&out.success().stdout).expect("ExecCredential");
    assert_eq!(credential["status"]["token"], host_token.as_str());
    let mut git = ns.command_with_env(
        &[
            ("LATCHKEY_URL", &serving.url),
            ("LATCHKEY_SERVE_TOKEN", &bearer),
        ],
        env!("CARGO_BIN_EXE_latchkey"),
    );
    git.args(["git-credential", "--host", "git.example", "svc", "get"]);
    let out = run_with_stdin(git, "protocol=https\nhost=git.example\n\n");
    assert!(
        out.success()
            .stdout
            .contains(&format!("password={host_token}")),
        "{out:?}"
    );
    assert!(out.stdout.contains("username=oauth2"), "{out:?}");
    inside("0000", &["token", "svc"]).fails_with(9, &["does not accept LATCHKEY_SERVE_TOKEN"]);
    inside(&bearer, &["token", "other"]).fails_with(9, &["does not hand out `other`"]);

    env.cli("access deny svc --program serve:box").success();
    inside(&bearer, &["token", "svc"]).fails_with(9, &["denies"]);
    inside(&bearer, &["exec", "--env", "T=svc", "--", "true"]).fails_with(9, &[]);

    let log = serving.stop();
    assert!(
        log.contains("warning"),
        "no warning for a non-loopback address: {log}"
    );
    assert!(log.contains("GET /v1/token/svc 403"), "{log}");
    assert!(!log.contains(&host_token), "the log shows a token: {log}");
    let history = history(&env);
    assert!(
        history.iter().any(|e| e["via"] == "serve"
            && e["decision"]
                .as_str()
                .is_some_and(|d| d.contains("refused"))),
        "{history:?}"
    );
    assert_eq!(std::fs::read_dir(&ns.home).expect("home").count(), 0);
}
