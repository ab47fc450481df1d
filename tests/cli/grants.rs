//! The grants besides the browser sign-in: client credentials (machine to machine) and the
//! device flow (RFC 8628), end to end against the real authorization server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::*;

/// `profile add NAME --grant client-credentials ENDPOINTS --client-id m2m` with `secret`.
fn add_machine(env: &Env, name: &str, endpoints: &str, secret: &str) -> Run {
    env.cli_stdin(
        &format!(
            "profile add {name} --grant client-credentials {endpoints} --client-id m2m \
             --client-secret-stdin"
        ),
        secret,
    )
}

fn add_m2m(env: &Env, server: &AuthServer, name: &str, extra: &str) {
    let endpoints = format!("--issuer {} {extra}", server.issuer);
    add_machine(env, name, &endpoints, "m2m-secret\n").says(&["Next: latchkey token"]);
}

#[test]
fn client_credentials_token_is_fetched_once_cached_and_accepted() {
    let server = AuthServer::start();
    let env = Env::new();
    let audience = "--token-param audience=https://api.example.test";
    add_m2m(&env, &server, "machine", audience);
    let p = env.profile_json("machine");
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

    let token = env.token(&["machine"]);
    assert!(!token.is_empty());
    let info = server.introspect(&token);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], "m2m", "{info}");
    // Served from the keychain the second time, also as `PROFILE/client`.
    let again = env.token(&["machine/client"]);
    assert_eq!(again, token);
    assert_eq!(server.count("client_credentials"), 1);
    let accounts = env.accounts();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["account"], "machine/client");
    assert_eq!(accounts[0]["has_refresh_token"], false);
    assert_eq!(accounts[0]["status"], "ok");
    // `refresh` fetches a new one now.
    let fresh = env.refresh("machine");
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
    let token_url = format!("--token-url {}/token", server.issuer);
    add_machine(&env, "m", &token_url, "m2m-secret").success();
    let first = env.token(&["m"]);
    let second = env.token(&["m"]);
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
    add_m2m(&env, &server, "burst", "");
    let children: Vec<_> = (0..4).map(|_| env.spawn(&["token", "burst"])).collect();
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
    let issuer = format!("--issuer {}", server.issuer);
    env.cli(&format!(
        "profile add m --grant client-credentials {issuer} --client-id m2m"
    ))
    .fails_with(2, &["client secret"]);
    // A wrong secret is the provider's refusal, and leaves no account behind.
    add_machine(&env, "bad", &issuer, "wrong-secret").success();
    env.run(&["token", "bad"])
        .fails_with(5, &["invalid_client"]);
    assert!(env.accounts().is_empty());
}

#[test]
fn device_flow_approved_at_the_verification_page() {
    let (server, env) = with_profile("tv", "device-app");
    let env = env.browser("SCRIPTED_BROWSER_DEVICE", "approve");
    let p = env.profile_json("tv");
    assert_eq!(
        p["device_authorization_endpoint"],
        format!("{}/device/auth", server.issuer)
    );

    let out = env.run(&["login", "tv", "--device", "--timeout", "60"]);
    out.says(&[
        &format!("{}/device?user_code=", server.issuer),
        "Signed in: tv/alice@example.test",
        "with a refresh token",
    ]);
    assert!(out.stderr.contains("enter the code"), "{out:#?}");
    let log = env.browser_log();
    assert!(log.starts_with("device-approve "), "{log}");
    assert!(server.count("urn:ietf:params:oauth:grant-type:device_code") >= 1);

    // The account works like any other: a token the provider accepts, and a refresh.
    assert_accepted_for_alice(&server, &env.token(&["tv"]));
    env.run(&["refresh", "tv"]).success();
    assert_eq!(server.count("refresh_token"), 1);
}

#[test]
fn device_flow_denied_or_unanswered_stores_nothing() {
    let (server, env) = with_profile("tv", "device-app");
    let env = env.browser("SCRIPTED_BROWSER_DEVICE", "deny");
    env.run(&["login", "tv", "--device", "--timeout", "60"])
        .fails_with(
            8,
            &["denied at the verification page", "nothing was stored"],
        );
    assert!(env.accounts().is_empty());
    let log = env.browser_log();
    assert!(log.starts_with("device-deny "), "{log}");

    // Nobody approves within the time given.
    env.run(&["login", "tv", "--device", "--no-browser", "--timeout", "2"])
        .fails_with(8, &["in time"]);
    assert!(env.accounts().is_empty());

    // A profile whose provider has no device endpoint says how to give one.
    let issuer = &server.issuer;
    env.cli(&format!(
        "profile add plain --authorize-url {issuer}/auth --token-url {issuer}/token \
         --client-id device-app"
    ))
    .success();
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
    env.cli(&format!(
        "profile add gh --authorize-url {base}/login/oauth/authorize \
         --token-url {base}/login/oauth/access_token \
         --device-authorization-url {base}/login/device/code --client-id Iv1.device \
         --scope read:user"
    ))
    .success();
    let out = env.run(&["login", "gh", "--device", "--no-browser", "--timeout", "60"]);
    out.says(&["Signed in: gh/default"]);
    assert!(
        out.stderr.contains("WDJB-MJHT") && out.stderr.contains("/login/device"),
        "{out:#?}"
    );
    let polls = polls.lock().unwrap().clone();
    assert_eq!(polls.len(), 3, "pending, slow_down, token");
    // The server's interval (1 s) between the first polls, 5 s more after slow_down.
    let first = polls[1] - polls[0];
    let second = polls[2] - polls[1];
    assert!(first >= Duration::from_millis(900), "{first:?}");
    assert!(second >= Duration::from_millis(5900), "{second:?}");
    assert_eq!(env.token(&["gh"]), "gho_device_token_value");
    let accounts = env.accounts();
    assert!(accounts[0]["expires_in"].as_i64().unwrap() > 28000);
}
