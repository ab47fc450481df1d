//! The grants besides the browser sign-in: client credentials (machine to machine) and the
//! device flow (RFC 8628), end to end against the real authorization server.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::*;

fn add_m2m(env: &Env, server: &AuthServer, name: &str, extra: &[&str]) {
    let mut args = vec![
        "profile",
        "add",
        name,
        "--grant",
        "client-credentials",
        "--issuer",
        &server.issuer,
        "--client-id",
        "m2m",
        "--client-secret-stdin",
    ];
    args.extend(extra);
    let out = env.run_with_stdin(&args, "m2m-secret\n");
    out.success();
    assert!(out.stdout.contains("Next: latchkey token"), "{out:#?}");
}

/// Introspects a token as the m2m client: whether the server says it is active.
fn introspect(server: &AuthServer, token: &str) -> serde_json::Value {
    reqwest::blocking::Client::new()
        .post(format!("{}/token/introspection", server.issuer))
        .basic_auth("m2m", Some("m2m-secret"))
        .form(&[("token", token)])
        .send()
        .expect("introspection")
        .json()
        .expect("introspection json")
}

#[test]
fn client_credentials_token_is_fetched_once_cached_and_accepted() {
    let server = AuthServer::start();
    let env = Env::new();
    add_m2m(
        &env,
        &server,
        "machine",
        &["--token-param", "audience=https://api.example.test"],
    );
    let show = env.run(&["profile", "show", "machine", "--json"]);
    let p: serde_json::Value = serde_json::from_str(&show.success().stdout).unwrap();
    assert_eq!(p["grant"], "client-credentials");
    assert_eq!(p["auth_method"], "basic");
    assert_eq!(
        p["extra_token_params"]["audience"],
        "https://api.example.test"
    );
    // No sign-in for a machine client, and no account before the first token.
    env.run(&["login", "machine"])
        .fails_with(2, &["client credentials", "latchkey token machine"]);
    assert!(env.accounts().is_empty());

    let token = env
        .run(&["token", "machine"])
        .success()
        .stdout
        .trim()
        .to_string();
    assert!(!token.is_empty());
    let info = introspect(&server, &token);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], "m2m", "{info}");
    // Served from the keychain the second time, also as `PROFILE/client`.
    let again = env
        .run(&["token", "machine/client"])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_eq!(again, token);
    assert_eq!(server.count("client_credentials"), 1);
    let accounts = env.accounts();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["account"], "machine/client");
    assert_eq!(accounts[0]["has_refresh_token"], false);
    assert_eq!(accounts[0]["status"], "ok");
    // `refresh` fetches a new one now.
    let fresh = env
        .run(&["refresh", "machine"])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_ne!(fresh, token);
    assert_eq!(server.count("client_credentials"), 2);
    assert_eq!(
        stored_tokens(&env, "machine/client").access_token.secret(),
        &fresh
    );
    env.run(&["token", "machine/other"])
        .fails_with(3, &["not found"]);
    // Neither the secret nor a token on disk.
    for secret in ["m2m-secret", &token, &fresh] {
        env.assert_not_on_disk(secret);
    }
    // Removing the profile removes its account and secret.
    env.run(&["profile", "remove", "machine", "--yes"])
        .success();
    assert!(env.accounts().is_empty());
}

#[test]
fn client_credentials_fetches_anew_near_expiry_and_single_flight() {
    // Tokens live 30 s: within the default 60 s margin, every call fetches a new one.
    let server = AuthServer::start_with_ttl(30);
    let env = Env::new();
    // Endpoints by hand: a machine client needs only the token endpoint.
    let token_url = format!("{}/token", server.issuer);
    let out = env.run_with_stdin(
        &[
            "profile",
            "add",
            "m",
            "--grant",
            "client-credentials",
            "--token-url",
            &token_url,
            "--client-id",
            "m2m",
            "--client-secret-stdin",
        ],
        "m2m-secret",
    );
    out.success();
    let first = env.run(&["token", "m"]).success().stdout.trim().to_string();
    let second = env.run(&["token", "m"]).success().stdout.trim().to_string();
    assert_ne!(first, second);
    assert_eq!(server.count("client_credentials"), 2);
    let cached = env.run(&["token", "m", "--min-valid", "5"]);
    assert_eq!(cached.success().stdout.trim(), second);
    assert_eq!(server.count("client_credentials"), 2);
}

#[test]
fn concurrent_client_credentials_callers_make_one_request() {
    let server = AuthServer::start();
    let env = Env::new();
    add_m2m(&env, &server, "burst", &[]);
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.command(&["token", "burst"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = Run::from(c.wait_with_output().expect("wait"));
            out.success().stdout.trim().to_string()
        })
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_eq!(server.count("client_credentials"), 1);
}

#[test]
fn client_credentials_needs_a_secret() {
    let server = AuthServer::start();
    let env = Env::new();
    env.run(&[
        "profile",
        "add",
        "m",
        "--grant",
        "client-credentials",
        "--issuer",
        &server.issuer,
        "--client-id",
        "m2m",
    ])
    .fails_with(2, &["client secret"]);
    // A wrong secret is the provider's refusal, and leaves no account behind.
    let out = env.run_with_stdin(
        &[
            "profile",
            "add",
            "bad",
            "--grant",
            "client-credentials",
            "--issuer",
            &server.issuer,
            "--client-id",
            "m2m",
            "--client-secret-stdin",
        ],
        "wrong-secret",
    );
    out.success();
    env.run(&["token", "bad"])
        .fails_with(5, &["invalid_client"]);
    assert!(env.accounts().is_empty());
}

#[test]
fn device_flow_approved_at_the_verification_page() {
    let server = AuthServer::start();
    let env = Env::new().browser("SCRIPTED_BROWSER_DEVICE", "approve");
    env.add_profile(&server, "tv", "device-app", None);
    let show = env.run(&["profile", "show", "tv", "--json"]);
    let p: serde_json::Value = serde_json::from_str(&show.success().stdout).unwrap();
    assert_eq!(
        p["device_authorization_endpoint"],
        format!("{}/device/auth", server.issuer)
    );

    let out = env.run(&["login", "tv", "--device", "--timeout", "60"]);
    out.success();
    assert!(out.stderr.contains("enter the code"), "{out:#?}");
    assert!(
        out.stdout
            .contains(&format!("{}/device?user_code=", server.issuer)),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("Signed in: tv/alice@example.test"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("with a refresh token"), "{out:#?}");
    let log = std::fs::read_to_string(env.dir.join("browser.log")).unwrap();
    assert!(log.starts_with("device-approve "), "{log}");
    assert!(server.count("urn:ietf:params:oauth:grant-type:device_code") >= 1);

    // The account works like any other: a token the provider accepts, and a refresh.
    let token = env
        .run(&["token", "tv"])
        .success()
        .stdout
        .trim()
        .to_string();
    let (status, info) = server.userinfo(&token);
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], "alice");
    env.run(&["refresh", "tv"]).success();
    assert_eq!(server.count("refresh_token"), 1);
}

#[test]
fn device_flow_denied_or_unanswered_stores_nothing() {
    let server = AuthServer::start();
    let env = Env::new().browser("SCRIPTED_BROWSER_DEVICE", "deny");
    env.add_profile(&server, "tv", "device-app", None);
    env.run(&["login", "tv", "--device", "--timeout", "60"])
        .fails_with(
            8,
            &["denied at the verification page", "nothing was stored"],
        );
    assert!(env.accounts().is_empty());
    let log = std::fs::read_to_string(env.dir.join("browser.log")).unwrap();
    assert!(log.starts_with("device-deny "), "{log}");

    // Nobody approves within the time given.
    env.run(&["login", "tv", "--device", "--no-browser", "--timeout", "2"])
        .fails_with(8, &["in time"]);
    assert!(env.accounts().is_empty());

    // A profile whose provider has no device endpoint says how to give one.
    let out = env.run(&[
        "profile",
        "add",
        "plain",
        "--authorize-url",
        &format!("{}/auth", server.issuer),
        "--token-url",
        &format!("{}/token", server.issuer),
        "--client-id",
        "device-app",
    ]);
    out.success();
    env.run(&["login", "plain", "--device"])
        .fails_with(2, &["--device-authorization-url"]);
}

/// A provider that answers the device flow the way GitHub does (errors with HTTP 200, a
/// lowercase `bearer`, `expires_in` as a string) and asks the client to slow down once. Returns
/// the base URL and the instants of the token polls.
fn github_like_device_server() -> (FaultServer, Arc<Mutex<Vec<Instant>>>) {
    let polls = Arc::new(Mutex::new(Vec::new()));
    let seen = polls.clone();
    let answers = [
        r#"{"error":"authorization_pending"}"#,
        r#"{"error":"slow_down","error_description":"Too many requests"}"#,
        r#"{"access_token":"gho_device_token_value","token_type":"bearer","expires_in":"28800","scope":"read:user"}"#,
    ];
    let server = FaultServer::handle(move |base, req| {
        let body = if req.path == "/login/device/code" {
            assert_eq!(req.form["client_id"], "Iv1.device");
            format!(
                r#"{{"device_code":"dc-123","user_code":"WDJB-MJHT","verification_uri":"{base}/login/device","expires_in":900,"interval":1}}"#
            )
        } else {
            assert_eq!(req.form["device_code"], "dc-123");
            let mut polls = seen.lock().unwrap();
            polls.push(Instant::now());
            answers[(polls.len() - 1).min(2)].to_string()
        };
        (Canned::json(body), vec![])
    });
    (server, polls)
}

#[test]
fn device_flow_honours_slow_down_and_github_style_answers() {
    let (server, polls) = github_like_device_server();
    let base = &server.base;
    let env = Env::new();
    env.run(&[
        "profile",
        "add",
        "gh",
        "--authorize-url",
        &format!("{base}/login/oauth/authorize"),
        "--token-url",
        &format!("{base}/login/oauth/access_token"),
        "--device-authorization-url",
        &format!("{base}/login/device/code"),
        "--client-id",
        "Iv1.device",
        "--scope",
        "read:user",
    ])
    .success();
    let out = env.run(&["login", "gh", "--device", "--no-browser", "--timeout", "60"]);
    out.success();
    assert!(
        out.stderr.contains("WDJB-MJHT") && out.stderr.contains("/login/device"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("Signed in: gh/default"), "{out:#?}");
    let polls = polls.lock().unwrap().clone();
    assert_eq!(polls.len(), 3, "pending, slow_down, token");
    // The server's interval (1 s) between the first polls, 5 s more after slow_down.
    let first = polls[1] - polls[0];
    let second = polls[2] - polls[1];
    assert!(first >= Duration::from_millis(900), "{first:?}");
    assert!(second >= Duration::from_millis(5900), "{second:?}");
    let token = env
        .run(&["token", "gh"])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_eq!(token, "gho_device_token_value");
    let accounts = env.accounts();
    assert!(accounts[0]["expires_in"].as_i64().unwrap() > 28000);
}
