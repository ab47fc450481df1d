//! `latchkey token` / `refresh`: expiry, single-flight refresh, provider failures.

use crate::util::*;

/// Makes the stored access token look expired, without touching the grant.
fn expire(env: &Env, name: &str) -> latchkey::TokenSet {
    let account = account(env, name);
    let mut tokens = stored_tokens(env, &account.id());
    tokens.expires_at = Some(latchkey::model::tokens::now() - 10);
    write_tokens(env, &account, &tokens);
    tokens
}

#[test]
fn twenty_concurrent_token_calls_make_one_refresh() {
    let (server, env) = signed_in("crowd");
    let old = expire(&env, "crowd");

    let children: Vec<_> = (0..20).map(|_| env.spawn(&["token", "crowd"])).collect();
    let outputs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().unwrap()))
        .collect();
    for out in &outputs {
        out.success();
    }
    assert_eq!(server.count("refresh_token"), 1, "{}", server.stats());
    let first = outputs[0].stdout.trim();
    assert!(outputs.iter().all(|o| o.stdout.trim() == first));
    assert_ne!(first, old.access_token.secret());
    assert_eq!(stored_tokens(&env, "crowd").access_token.secret(), first);
    assert_eq!(server.userinfo(first).0, 200);
}

#[test]
fn min_valid_decides_when_to_refresh() {
    let server = AuthServer::start_with_ttl(600);
    let env = signed_in_at(&server, "minvalid");
    let first = env.token(&["minvalid", "--min-valid", "60"]);
    assert_eq!(server.count("refresh_token"), 0);
    let second = env.token(&["minvalid", "--min-valid", "900"]);
    assert_eq!(server.count("refresh_token"), 1);
    assert_ne!(first, second);
}

#[test]
fn invalid_grant_marks_needs_sign_in_and_keeps_the_account() {
    let (server, env) = signed_in("revoked");
    // Someone else uses the refresh token: the stored one is now a replay.
    let stored = stored_tokens(&env, "revoked");
    let rt = stored_refresh_token(&env, "revoked");
    assert_eq!(server.refresh_directly("public-app", &rt).0, 200);

    env.run(&["refresh", "revoked"]).fails_with(
        4,
        &[
            "revoked/alice@example.test",
            "needs sign-in",
            "invalid_grant",
            "latchkey login revoked",
        ],
    );
    let accounts = env.accounts();
    assert_eq!(accounts.len(), 1, "the account is kept");
    assert_eq!(accounts[0]["status"], "needs sign-in");
    // Its tokens are still in the keychain, untouched.
    assert_eq!(
        stored_tokens(&env, "revoked").access_token.secret(),
        stored.access_token.secret()
    );
    // `token` says so at once, without another request to the provider.
    let refreshes = server.count("refresh_token");
    env.run(&["token", "revoked"])
        .fails_with(4, &["needs sign-in"]);
    assert_eq!(server.count("refresh_token"), refreshes);
    // Signing in again heals it.
    env.login("revoked").success();
    assert_eq!(env.accounts()[0]["status"], "ok");
    env.run(&["token", "revoked"]).success();
}

/// Points the profile's token endpoint elsewhere, as a hand edit of profiles.toml would.
fn set_token_endpoint(env: &Env, url: &str) -> String {
    set_profile_value(env, "token_endpoint", url)
}

#[test]
fn server_errors_and_malformed_bodies_fail_cleanly_and_keep_the_account() {
    let (_server, env) = signed_in("faults");
    let html = "<html><body><h1>Internal Server Error</h1></body></html>";
    let fault = FaultServer::start(vec![
        ("/html-500", Canned::new(500, "text/html", html)),
        (
            "/truncated",
            Canned::json(r#"{"access_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAA","token_type":"Bea"#),
        ),
        (
            "/no-access-token",
            Canned::json(r#"{"token_type":"Bearer","expires_in":3600}"#),
        ),
        (
            "/error-with-200",
            Canned::json(
                r#"{"error":"temporarily_unavailable","error_description":"try again in a minute"}"#,
            ),
        ),
        ("/redirect", Canned::new(302, "text/plain", "")),
    ]);
    let before = stored_tokens(&env, "faults");

    let real = set_token_endpoint(&env, &format!("{}/html-500", fault.base));
    env.run(&["refresh", "faults"]).fails_with(
        5,
        &[
            "refresh for profile `faults`",
            "HTTP 500",
            "Internal Server Error",
        ],
    );
    set_token_endpoint(&env, &format!("{}/truncated", fault.base));
    let out = env.run(&["refresh", "faults"]);
    out.fails_with(5, &["HTTP 200"]);
    assert!(
        !out.stderr.contains("AAAAAAAAAAAAAAAAAAAA"),
        "token-shaped text is masked: {}",
        out.stderr
    );
    set_token_endpoint(&env, &format!("{}/no-access-token", fault.base));
    env.run(&["refresh", "faults"])
        .fails_with(5, &["access_token"]);
    set_token_endpoint(&env, &format!("{}/error-with-200", fault.base));
    env.run(&["refresh", "faults"])
        .fails_with(5, &["temporarily_unavailable", "try again in a minute"]);
    set_token_endpoint(&env, &format!("{}/redirect", fault.base));
    env.run(&["refresh", "faults"])
        .fails_with(5, &["302", "redirect"]);
    set_token_endpoint(&env, "http://127.0.0.1:9/token");
    env.run(&["refresh", "faults"])
        .fails_with(6, &["refresh for profile `faults`"]);
    assert!(fault.hits.load(std::sync::atomic::Ordering::SeqCst) >= 5);

    // Nothing was lost: same tokens, status ok, and the real endpoint still refreshes.
    let after = stored_tokens(&env, "faults");
    assert_eq!(after.access_token.secret(), before.access_token.secret());
    assert_eq!(env.accounts()[0]["status"], "ok");
    set_token_endpoint(&env, &real);
    env.run(&["refresh", "faults"]).success();
}

#[test]
fn github_style_endpoints_without_discovery() {
    // GitHub answers form-encoded bodies, errors with HTTP 200, and has no OIDC; the provider
    // side is a canned server, the sign-in a real loopback redirect.
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let body = "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist\
                &token_type=bearer";
    let fault = FaultServer::start(vec![(
        "/login/oauth/access_token",
        Canned::new(200, form, body),
    )]);
    let env = Env::new();
    let base = &fault.base;
    env.cli_stdin(
        &format!(
            "profile add gh --authorize-url {base}/login/oauth/authorize \
             --token-url {base}/login/oauth/access_token --client-id Iv1.abc \
             --client-secret-stdin --auth-method post --scope 'repo gist'"
        ),
        "github-secret-value",
    )
    .success();
    // Drive the flow by hand: the canned server has no login page.
    let (child, url) = env.start_login("login gh --no-browser --timeout 30");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(!q.contains_key("nonce"), "no OIDC, no nonce");
    let redirect = format!("{}?code=abc&state={}", q["redirect_uri"], q["state"]);
    assert_eq!(reqwest::blocking::get(&redirect).unwrap().status(), 200);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let account = &env.accounts()[0];
    assert_eq!(account["account"], "gh/default");
    assert_eq!(account["has_refresh_token"], false);
    assert_eq!(
        env.token(&["gh"]),
        "gho_16C7e42F292c6912E7710c838347Ae178B4a"
    );
    // No expiry and no refresh token: `refresh` explains instead of failing obscurely.
    env.run(&["refresh", "gh"])
        .fails_with(4, &["no refresh token"]);
}

#[test]
fn a_second_account_does_not_change_what_a_bare_profile_name_means() {
    let (server, env) = signed_in("test");
    let file = env.dir.join("api.env");
    std::fs::write(&file, "API_TOKEN=latchkey:test\n").unwrap();
    let exec = || env.exec_sh_with(&file, "printf %s \"$API_TOKEN\"");
    let alice = exec().success().stdout.clone();
    assert_accepted_for_alice(&server, &alice);

    // bob signs in to the same profile: `test` still means alice, the first signed in.
    let mut bob_login = env.command(&["login", "test", "--timeout", "30"]);
    bob_login.env("SCRIPTED_BROWSER_LOGIN", "bob");
    Run::from(bob_login.output().unwrap()).says(&["Signed in: test/bob@example.test"]);
    assert_eq!(env.accounts().len(), 2);
    assert_eq!(exec().success().stdout, alice);
    assert_accepted_for_alice(&server, &env.token(&["test"]));

    // Marking bob as the default moves the bare name, and only then.
    env.run(&["accounts", "default", "test/bob@example.test"])
        .says(&["`test` now means test/bob@example.test"]);
    let (status, info) = server.userinfo(&env.token(&["test"]));
    assert_eq!((status, info["sub"].as_str()), (200, Some("bob")), "{info}");
    let listed = env.accounts();
    let default_of = |label: &str| {
        listed
            .iter()
            .find(|a| a["label"] == label)
            .map(|a| a["default"].clone())
    };
    assert_eq!(default_of("bob@example.test"), Some(true.into()));
    assert_eq!(default_of("alice@example.test"), Some(false.into()));
}

#[test]
fn a_mistyped_account_is_not_found_with_the_nearest_name() {
    // Only the account names in the config matter: no sign-in. `history`'s wording, and an
    // account with no history yet: src/cli/history.rs's tests.
    let env = Env::new();
    latchkey::store::config::Config::new(env.config_dir())
        .put_account(latchkey::Account {
            profile: "test".into(),
            label: "alice@example.test".into(),
            subject: None,
            scopes: vec![],
            expires_at: None,
            has_refresh_token: true,
            needs_sign_in: None,
            signed_in_at: 1,
            default: false,
            dpop_bound: false,
        })
        .expect("account recorded");
    env.run(&["token", "tset"]).fails_with(3, &["`test`"]);
}
