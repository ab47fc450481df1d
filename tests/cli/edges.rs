//! Edges of the provider boundary: proxies for loopback endpoints, provider text at the
//! terminal, names that look alike, redirect URIs, metadata split between documents, and
//! refused callbacks that must not go unnoticed.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fakeas::{FakeAs, Options, Revocation};
use crate::util::*;

/// A "proxy" that only counts the connections it receives (and closes them).
struct CountingProxy {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl CountingProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        CountingProxy { url, connections }
    }

    /// Every proxy variable reqwest or Latchkey reads, pointing here.
    fn env(&self) -> Vec<(String, String)> {
        [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "all_proxy",
        ]
        .into_iter()
        .map(|k| (k.to_string(), self.url.clone()))
        .chain([
            ("NO_PROXY".to_string(), String::new()),
            ("no_proxy".to_string(), String::new()),
        ])
        .collect()
    }
}

#[test]
fn plain_http_loopback_endpoints_never_go_through_a_proxy() {
    let proxy = CountingProxy::start();
    let server = AuthServer::start();
    let mut env = Env::new();
    env.extra_env = proxy.env();
    // Discovery, sign-in (code, secret), refresh and revocation: all straight to the server.
    env.add_profile(
        &server,
        "noproxy",
        "conf-basic",
        Some("s3cr+t/with:%chars&more"),
    );
    env.login("noproxy").success();
    env.refresh("noproxy");
    env.run(&["logout", "noproxy"])
        .says(&["revoked at the provider"]);
    assert_eq!(server.count("authorization_code"), 1);
    assert_eq!(server.count("refresh_token"), 1);
    assert_eq!(
        proxy.connections.load(Ordering::SeqCst),
        0,
        "a proxy received a loopback request"
    );
}

// ----- provider text at the terminal

/// OSC 52 (sets the clipboard), OSC 8 (a disguised link), a C1 CSI, a bidi override and a
/// fake line: what a hostile provider would put into its text.
const HOSTILE: &str = "denied\u{1b}]52;c;ZXZpbA==\u{7} see \u{1b}]8;;http://evil\u{7}help\u{1b}]8;;\u{7} \u{9b}31m\u{202e}txt\nlatchkey: all fine";

/// The parameter `name` of `url`'s query.
fn query(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find_map(|(k, v)| (k == name).then(|| v.into_owned()))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// No byte of an escape sequence or invisible character reached `text`, and the provider's
/// words did, escaped.
#[track_caller]
fn assert_escaped(text: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(c), "{c:?} reached the terminal: {text:?}");
    }
    assert!(!text.contains("\nlatchkey: all fine"), "{text}");
    assert!(text.contains("\\u{1b}]52;c;"), "{text}");
}

#[test]
fn provider_error_texts_and_body_excerpts_reach_the_terminal_escaped() {
    let error = serde_json::json!({
        "error": "invalid_client",
        "error_description": HOSTILE,
        "error_uri": format!("https://as.example/\u{1b}]8;;http://evil\u{7}"),
    });
    let fake = FaultServer::start(vec![
        (
            "/token",
            Canned::new(400, "application/json", error.to_string()),
        ),
        (
            "/html",
            Canned::new(500, "text/html", format!("<p>{HOSTILE}</p>")),
        ),
    ]);
    let env = Env::new();
    for (name, path) in [("hostile-error", "token"), ("hostile-html", "html")] {
        env.cli_stdin(
            &format!(
                "profile add {name} --grant client-credentials --token-url {}/{path} --client-id c --client-secret-stdin",
                fake.base
            ),
            "secret",
        )
        .success();
    }
    let out = env.run(&["token", "hostile-error"]);
    out.fails_with(5, &["invalid_client", "denied"]);
    assert_escaped(&out.stderr);
    let out = env.run(&["token", "hostile-html"]);
    out.fails_with(5, &["HTTP 500"]);
    assert_escaped(&out.stderr);
}

#[test]
fn an_error_redirect_reaches_the_terminal_escaped() {
    let env = Env::new();
    env.cli(&format!(
        "profile add hostile-redirect {EXAMPLE_ENDPOINTS} --client-id c"
    ))
    .success();
    let (child, authorize) = env.start_login("login hostile-redirect --no-browser --timeout 20");
    let mut redirect = url::Url::parse(&query(&authorize, "redirect_uri")).unwrap();
    redirect
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("error_description", HOSTILE)
        .append_pair("state", &query(&authorize, "state"));
    let page = reqwest::blocking::get(redirect.as_str()).unwrap();
    assert_eq!(page.status(), 200);
    let out = Run::from(child.wait_with_output().unwrap());
    out.fails_with(5, &["access_denied"]);
    assert_escaped(&out.stderr);
}

#[test]
fn device_flow_fields_reach_the_terminal_escaped() {
    let device = serde_json::json!({
        "device_code": "dc",
        "user_code": "WDJB\u{1b}]52;c;ZXZpbA==\u{7}-MJHT",
        "verification_uri": "https://as.example/device\u{1b}]8;;http://evil\u{7}",
        "verification_uri_complete": "https://as.example/device?c=1\u{202e}\u{1b}[2J",
        "expires_in": 30,
        "interval": 1,
    });
    let error = serde_json::json!({"error": "invalid_client", "error_description": HOSTILE});
    let fake = FaultServer::start(vec![
        ("/device", Canned::json(device.to_string())),
        (
            "/token",
            Canned::new(400, "application/json", error.to_string()),
        ),
    ]);
    let env = Env::new();
    env.cli(&format!(
        "profile add hostile-device --authorize-url {base}/authorize --token-url {base}/token --device-authorization-url {base}/device --client-id c",
        base = fake.base
    ))
    .success();
    let out = env.run(&[
        "login",
        "hostile-device",
        "--device",
        "--no-browser",
        "--timeout",
        "10",
    ]);
    out.fails_with(5, &["invalid_client", "WDJB", "as.example/device"]);
    assert_escaped(&out.stderr);
    for c in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!out.stdout.contains(c), "{c:?} on stdout: {:?}", out.stdout);
    }
    assert!(
        out.stdout.contains("https://as.example/device?c=1"),
        "{}",
        out.stdout
    );
}

// ----- names that look alike

/// Bidi controls and zero-width characters: a name holding one looks like another name.
const INVISIBLE: [char; 16] = [
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200e}', '\u{200f}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}',
];

#[test]
fn names_with_bidi_or_zero_width_characters_are_refused() {
    let env = Env::new();
    let endpoints = words(EXAMPLE_ENDPOINTS);
    for c in INVISIBLE {
        let name = format!("work{c}x");
        let mut args = vec!["profile", "add", &name, "--client-id", "c"];
        args.extend(endpoints.iter().map(String::as_str));
        env.run(&args)
            .fails_with(2, &["invalid profile name", "invisible"]);
    }
    assert!(
        env.run(&["profile", "list", "--json"])
            .success()
            .stdout
            .trim()
            == "[]"
    );
    // The same for account labels, before any browser opens.
    env.cli(&format!(
        "profile add plain {EXAMPLE_ENDPOINTS} --client-id c"
    ))
    .success();
    for c in INVISIBLE {
        let label = format!("alice{c}");
        env.run(&["login", "plain", "--account", &label, "--no-browser"])
            .fails_with(2, &["invalid account name", "invisible"]);
    }
    assert!(env.browser_log().is_empty());
    assert!(env.accounts().is_empty());
}

// ----- redirect URIs a sign-in could never complete at

#[test]
fn redirect_uris_no_sign_in_can_complete_at_are_refused_when_added() {
    let env = Env::new();
    let add = |name: &str, redirect: &str| {
        env.cli(&format!(
            "profile add {name} {EXAMPLE_ENDPOINTS} --client-id c {redirect}"
        ))
    };
    for uri in [
        "latchkey://other",
        "latchkey://callback/",
        "latchkey://callback?x=1",
    ] {
        add("dl", &format!("--redirect deep-link --redirect-uri {uri}"))
            .fails_with(2, &[uri, "only at latchkey://callback"]);
        // Without --redirect deep-link, the deep link is named too.
        add("dl", &format!("--redirect-uri {uri}"))
            .fails_with(2, &["--redirect deep-link", "latchkey://callback"]);
    }
    // The loopback listener matches the path only: a query would never reach the provider.
    add("q", "--redirect-uri http://127.0.0.1:8765/cb?tenant=x")
        .fails_with(2, &["has a query", "http://127.0.0.1[:PORT]/PATH"]);
    assert_eq!(
        env.run(&["profile", "list", "--json"])
            .success()
            .stdout
            .trim(),
        "[]"
    );
    add(
        "dl",
        "--redirect deep-link --redirect-uri latchkey://callback",
    )
    .success();
    add("fixed", "--redirect-uri http://127.0.0.1:8765/cb").success();
    assert_eq!(
        env.profile_json("dl")["redirect_uri"],
        "latchkey://callback"
    );
}

// ----- revocation endpoints outside the OpenID document

/// A user signed in at a fake provider publishing its revocation endpoint as `revocation`
/// says, with a profile added with the `extra` flags too (`{issuer}` in them is the
/// provider's); then `latchkey logout`.
fn sign_out_at(revocation: Revocation, extra: &str) -> (FakeAs, Run) {
    let server = FakeAs::with(Options {
        revocation,
        ..Options::default()
    });
    let name = format!("revoke-{}", NAMES.fetch_add(1, Ordering::SeqCst));
    let client = format!("good {}", extra.replace("{issuer}", &server.issuer));
    let env = Env::with_oidc_profile(&server.issuer, &name, &client);
    env.login(&name).success();
    let out = env.run(&["logout", &name]);
    assert!(env.accounts().is_empty(), "signed out locally");
    (server, out)
}

static NAMES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn logout_revokes_at_the_endpoint_only_rfc8414_metadata_lists() {
    let (server, out) = sign_out_at(Revocation::Rfc8414, "");
    out.says(&["revoked at the provider"]);
    assert_eq!(server.hits("/revoke"), 1);
    assert!(server.hits("/.well-known/oauth-authorization-server") >= 1);
}

#[test]
fn rfc8414_metadata_naming_another_issuer_is_not_used() {
    let (server, out) = sign_out_at(Revocation::Rfc8414ForeignIssuer, "");
    out.success();
    assert_eq!(
        server.hits("/revoke"),
        0,
        "revoked where a foreign document said"
    );
    assert!(
        out.stderr.contains("still valid at the provider"),
        "{out:#?}"
    );
}

#[test]
fn logout_without_a_revocation_endpoint_says_the_grant_is_still_valid_and_where() {
    let (server, out) = sign_out_at(Revocation::Nowhere, "");
    out.success();
    assert!(!out.stdout.contains("nothing to revoke"), "{out:#?}");
    for needle in [
        "the grant is still valid at the provider",
        "no revocation endpoint",
        &format!(
            "Revoke Latchkey's access in your account at {}",
            server.issuer
        ),
        "--revocation-url",
    ] {
        assert!(
            out.stderr.contains(needle),
            "stderr lacks {needle:?}: {out:#?}"
        );
    }
    assert_eq!(server.hits("/revoke"), 0);
}

#[test]
fn a_revocation_url_given_with_an_issuer_is_used() {
    let (server, out) = sign_out_at(Revocation::Nowhere, "--revocation-url {issuer}/revoke");
    out.says(&["revoked at the provider"]);
    assert_eq!(server.hits("/revoke"), 1);
}

// ----- refused callbacks are reported at once

/// Standard error of `child`, line by line as it comes.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line of `lines` holding `needle`, within 10 s.
#[track_caller]
fn line_with(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?} on stderr: {seen:#?}");
}

#[test]
fn a_tampered_state_is_reported_at_once_while_the_sign_in_waits() {
    let (server, env) = with_profile("tamper", "public-app");
    let env = env.browser("SCRIPTED_BROWSER_TAMPER", "state");
    let mut child = env.spawn(&["login", "tamper", "--timeout", "8"]);
    let lines = stderr_lines(&mut child);
    let notice = line_with(&lines, "refused a response");
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting: {notice}"
    );
    for needle in [
        "profile `tamper`",
        "not this sign-in's",
        "still waiting",
        "nothing was stored",
    ] {
        assert!(notice.contains(needle), "{needle:?} not in {notice}");
    }
    // Then it times out as before.
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(8));
    let rest: Vec<String> = lines.iter().collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("1 response with a wrong or missing `state` was refused")),
        "{rest:#?}"
    );
    assert_eq!(server.count("authorization_code"), 0);
    assert!(env.accounts().is_empty());
}

#[test]
fn a_redirect_without_state_is_explained_in_the_terminal_and_the_page_then_the_sign_in_completes() {
    let server = FakeAs::start();
    let env = Env::with_oidc_profile(&server.issuer, "nostate", "good");
    let (mut child, authorize) = env.start_login("login nostate --no-browser --timeout 30");
    let lines = stderr_lines(&mut child);
    let redirect = query(&authorize, "redirect_uri");
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A provider that drops `state` from its error redirect.
    let page = client
        .get(format!(
            "{redirect}?error=temporarily_unavailable&error_description=try+later"
        ))
        .send()
        .unwrap();
    assert_eq!(page.status(), 400);
    let page = page.text().unwrap();
    for needle in [
        "temporarily_unavailable",
        "no `state`",
        "did not send back the `state`",
    ] {
        assert!(page.contains(needle), "page lacks {needle:?}: {page}");
    }
    let notice = line_with(&lines, "refused a response");
    for needle in [
        "`temporarily_unavailable` (try later)",
        "no `state`",
        "still waiting",
    ] {
        assert!(notice.contains(needle), "{needle:?} not in {notice}");
    }
    assert!(child.try_wait().unwrap().is_none(), "still waiting");
    // The real redirect still completes the sign-in.
    let answer = client.get(authorize.as_str()).send().unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(client.get(&location).send().unwrap().status(), 200);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(env.accounts().len(), 1);
}
