//! `latchkey proxy`: a tool that can't do OAuth talks to a base URL; the proxy forwards its
//! requests with the account's token, against the test provider's `/resource` (which verifies
//! the token) and a small local server of large bodies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::*;

/// A running `latchkey proxy`, the base URL it printed and its log file.
pub struct Proxying {
    child: Child,
    pub base: String,
    log: std::path::PathBuf,
}

impl Proxying {
    pub fn start(env: &Env, args: &[&str]) -> Self {
        let log = env.dir.join(format!("proxy-{}.log", rand_suffix()));
        let mut child = env
            .command(&[&["proxy"], args].concat())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn latchkey proxy");
        let base = first_line(&mut child, "the base URL");
        assert!(!base.is_empty(), "proxy printed nothing: {}", read(&log));
        Proxying { child, base, log }
    }

    /// Stops it with SIGTERM; its log.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("kill")
                .success()
        );
        let status = self.child.wait().expect("wait proxy");
        assert!(status.success(), "proxy ended with {status}");
        read(&self.log)
    }

    /// The proxy's peak resident memory in KiB (`VmHWM`).
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }
}

impl Drop for Proxying {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos() as u64
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `curl URL` with extra arguments: status and body.
fn curl(url: &str, extra: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.parse().expect("status"), body.to_string())
}

fn resource_stats(server: &AuthServer) -> (u64, u64) {
    let stats = server.stats();
    (
        stats["resource"]["ok"].as_u64().unwrap_or(0),
        stats["resource"]["refused"].as_u64().unwrap_or(0),
    )
}

#[test]
fn proxy_forwards_with_the_token_behind_a_secret_base_url() {
    let (server, env) = signed_in("svc");
    let token = env.token(&["svc"]);
    let proxying = Proxying::start(&env, &["svc", "--upstream", &server.issuer]);
    let base = proxying.base.clone();
    let secret = base
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.split_once('/'))
        .map(|(_, s)| s.trim_end_matches('/').to_string())
        .unwrap_or_else(|| panic!("base URL {base}"));
    assert_eq!(secret.len(), 32, "{base}");
    let origin = base
        .trim_end_matches('/')
        .trim_end_matches(&secret)
        .to_string();

    // Through the base URL: the provider's resource accepts the token the proxy put in, not
    // the one the client sent.
    let (status, body) = curl(
        &format!("{base}resource?x=1"),
        &["-H", "Authorization: Bearer not-a-token"],
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["client_id"], "public-app", "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    let (status, body) = curl(&format!("{base}resource"), &["-X", "POST", "-d", "a=b"]);
    assert_eq!(status, 200, "{body}");

    // Without the secret, or with another: 404, and nothing reached the provider.
    let before = resource_stats(&server);
    for url in [
        format!("{origin}resource"),
        format!("{origin}{}/resource", &secret[..31]),
        format!("{origin}{secret}x/resource"),
        origin.clone(),
    ] {
        let (status, _) = curl(&url, &[]);
        assert_eq!(status, 404, "{url}");
    }
    assert_eq!(resource_stats(&server), before, "a request went upstream");

    // Concurrent clients.
    let url = format!("{base}resource");
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                (0..3)
                    .map(|_| client.get(&url).send().expect("get").status().as_u16())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), vec![200, 200, 200]);
    }
    assert_eq!(resource_stats(&server).0, before.0 + 30);

    let log = proxying.stop();
    assert!(log.contains("GET /resource 200"), "{log}");
    assert!(log.contains("POST /resource 200"), "{log}");
    assert!(log.contains("404"), "{log}");
    assert!(!log.contains(&token), "the log shows a token: {log}");
    assert!(!log.contains(&secret), "the log shows the secret: {log}");
    assert!(!log.contains("x=1"), "the log shows the query: {log}");
    let lines = history(&env);
    assert!(
        lines
            .iter()
            .any(|e| e["via"] == "proxy" && e["exe"].as_str().is_some_and(|x| x.ends_with("curl"))),
        "no proxy line naming curl in history: {lines:#?}"
    );
}

#[test]
fn proxy_refreshes_once_when_the_upstream_refuses_the_token() {
    let (server, env) = signed_in("svc");
    let token = env.token(&["svc"]);
    let proxying = Proxying::start(&env, &["svc", "--upstream", &server.issuer]);
    let url = format!("{}resource", proxying.base);
    let (status, body) = curl(&url, &[]);
    assert_eq!(status, 200, "{body}");

    server.end_access_token(&token);
    let refreshes = server.count("refresh_token");
    let refused = resource_stats(&server).1;
    // A small body is kept and sent again with the new token.
    let (status, body) = curl(&url, &["-X", "PUT", "--data-binary", "kept for the retry"]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.count("refresh_token"), refreshes + 1);
    assert_eq!(resource_stats(&server).1, refused + 1, "one refused try");
    // The new token serves the next requests without another refresh.
    assert_eq!(curl(&url, &[]).0, 200);
    assert_eq!(server.count("refresh_token"), refreshes + 1);
    let fresh = env.token(&["svc"]);
    assert_ne!(fresh, token);
    // An upstream that refuses again at once gets no second refresh: the 401 goes back.
    server.end_access_token(&fresh);
    assert_eq!(curl(&url, &[]).0, 401);
    assert_eq!(server.count("refresh_token"), refreshes + 1);
    let log = proxying.stop();
    assert!(log.contains("PUT /resource 200"), "{log}");
    assert!(log.contains("GET /resource 401"), "{log}");
}

#[test]
fn proxy_answers_403_under_a_deny_rule_and_forwards_nothing() {
    let (server, env) = signed_in("svc");
    env.run(&["access", "deny", "svc"]).success();
    let proxying = Proxying::start(&env, &["svc", "--upstream", &server.issuer]);
    let before = resource_stats(&server);
    let (status, body) = curl(&format!("{}resource", proxying.base), &[]);
    assert_eq!(status, 403, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json error");
    assert_eq!(answer["error"], "refused", "{answer}");
    assert!(answer["rule"].is_string(), "{answer}");
    assert_eq!(resource_stats(&server), before);
    let log = proxying.stop();
    assert!(log.contains("GET /resource 403"), "{log}");
}

#[cfg(unix)]
#[test]
fn proxy_on_a_unix_socket_has_no_secret_and_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let (server, env) = signed_in("svc");
    let socket = env.dir.join("proxy.sock");
    let proxying = Proxying::start(
        &env,
        &[
            "svc",
            "--upstream",
            &server.issuer,
            "--socket",
            socket.to_str().expect("path"),
        ],
    );
    assert_eq!(proxying.base, format!("unix:{}", socket.display()));
    let mode = std::fs::metadata(&socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let (status, body) = curl(
        "http://localhost/resource",
        &["--unix-socket", socket.to_str().expect("path")],
    );
    assert_eq!(status, 200, "{body}");
    proxying.stop();
    assert!(!socket.exists(), "the socket was left behind");
}

const BIG: u64 = 100 * 1024 * 1024;

/// A local upstream that answers `GET` with 100 MB of zeros (`GET /files/moved`: a redirect)
/// and `POST` with the size of the body it read, one request per connection.
fn big_body_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0u64;
                let mut authorized = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    authorized |= lower.starts_with("authorization: bearer ");
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let mut stream = reader.get_ref().try_clone().expect("clone");
                if !authorized {
                    let _ = stream.write_all(
                        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                }
                if head.starts_with("GET /files/moved") {
                    let _ = stream.write_all(
                        b"HTTP/1.1 302 Found\r\nLocation: /files/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                }
                if head.starts_with("POST") {
                    let mut left = length;
                    let mut buf = vec![0u8; 1 << 16];
                    let mut got = 0u64;
                    while left > 0 {
                        let n = reader.read(&mut buf).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        got += n as u64;
                        left = left.saturating_sub(n as u64);
                    }
                    let body = got.to_string();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    return;
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
                );
                let zeros = vec![0u8; 1 << 16];
                let mut left = BIG;
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    if stream.write_all(&zeros[..n]).is_err() {
                        return;
                    }
                    left -= n as u64;
                }
            });
        }
    });
    format!("http://{addr}/files")
}

#[test]
fn proxy_streams_100_mb_both_ways_with_flat_memory() {
    let (_server, env) = signed_in("svc");
    let upstream = big_body_server();
    let proxying = Proxying::start(&env, &["svc", "--upstream", &upstream]);
    let before = proxying.peak_rss_kib();

    let started = std::time::Instant::now();
    let (status, out) = curl(
        &format!("{}zeros", proxying.base),
        &["-o", "/dev/null", "-w", "%{size_download}\n%{http_code}"],
    );
    let download = started.elapsed();
    assert_eq!(status, 200, "{out}");
    assert_eq!(out, BIG.to_string());

    let file = env.dir.join("upload.bin");
    std::fs::File::create(&file)
        .and_then(|f| f.set_len(BIG))
        .expect("a sparse file");
    let started = std::time::Instant::now();
    let (status, body) = curl(
        &format!("{}upload", proxying.base),
        &["-X", "POST", "-T", file.to_str().expect("path")],
    );
    let upload = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, BIG.to_string());

    // Redirects are passed back, not followed.
    let (status, location) = curl(
        &format!("{}moved", proxying.base),
        &["-o", "/dev/null", "-w", "%{redirect_url}\n%{http_code}"],
    );
    assert_eq!(status, 302);
    assert!(location.ends_with("/files/elsewhere"), "{location}");

    let peak = proxying.peak_rss_kib();
    eprintln!(
        "proxy peak RSS: {before} KiB at start, {peak} KiB after 100 MB down ({download:?}) and 100 MB up ({upload:?})"
    );
    assert!(peak < 40 * 1024, "peak RSS {peak} KiB");
    let log = proxying.stop();
    assert!(log.contains("GET /zeros 200"), "{log}");
    assert!(log.contains("POST /upload 200"), "{log}");
}
