//! `latchkey login` through the scripted browser, and sign-ins that must fail cleanly.

use crate::util::*;

#[test]
fn public_client_lifecycle_login_token_refresh_logout() {
    let (server, env) = with_profile("life", "public-app");

    env.login("life")
        .says(&["Signed in: life/alice@example.test", "with a refresh token"]);
    assert_eq!(server.count("authorization_code"), 1);

    let accounts = env.accounts();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(a["account"], "life/alice@example.test");
    assert_eq!(a["status"], "ok");
    assert_eq!(a["has_refresh_token"], true);
    assert!(a["expires_in"].as_i64().unwrap() > 3000);

    // The printed token is accepted by the provider's userinfo endpoint.
    let token = env.token(&["life"]);
    assert_accepted_for_alice(&server, &token);
    let header = env.token(&["life/alice@example.test", "--format", "header"]);
    assert_eq!(header, format!("Authorization: Bearer {token}"));
    let json: serde_json::Value =
        serde_json::from_str(&env.run(&["token", "life", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["access_token"], token.as_str());
    assert!(json["scope"].as_str().unwrap().contains("openid"));
    // A valid token is served from the keychain without asking the provider.
    assert_eq!(server.count("refresh_token"), 0);

    let before = stored_tokens(&env, "life");
    let old_refresh = before
        .refresh_token
        .clone()
        .expect("refresh token")
        .secret()
        .clone();
    let refreshed = env.refresh("life");
    assert_ne!(refreshed, token);
    assert_eq!(server.count("refresh_token"), 1);
    let after = stored_tokens(&env, "life");
    assert_eq!(after.access_token.secret(), &refreshed);
    let new_refresh = after
        .refresh_token
        .clone()
        .expect("rotated")
        .secret()
        .clone();
    assert_ne!(
        new_refresh, old_refresh,
        "the server rotates refresh tokens"
    );
    assert_eq!(server.userinfo(&refreshed).0, 200);

    // Nothing secret on disk: tokens, id_token.
    for secret in [&token, &refreshed, &old_refresh, &new_refresh] {
        env.assert_not_on_disk(secret);
    }
    env.assert_not_on_disk(before.id_token.as_ref().expect("id_token").secret());

    // The old refresh token is dead at the server (and replaying it kills the family, so this
    // comes last for this account).
    let (status, body) = server.refresh_directly("public-app", &old_refresh);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[test]
fn logout_revokes_the_refresh_token_at_the_server() {
    let (server, env) = signed_in("out");
    let refresh = stored_refresh_token(&env, "out");

    env.run(&["logout", "out"])
        .says(&["revoked at the provider"]);
    assert_eq!(server.stats()["revocation"], 1);
    assert!(env.accounts().is_empty());
    env.run(&["token", "out"]).fails_with(3, &["not found"]);
    let (status, body) = server.refresh_directly("public-app", &refresh);
    assert_eq!(status, 400, "revoked token still works: {body}");
}

#[test]
fn logout_no_revoke_leaves_the_grant_alone() {
    let (server, env) = signed_in("keep");
    let refresh = stored_refresh_token(&env, "keep");
    env.run(&["logout", "keep", "--no-revoke"]).success();
    assert_eq!(server.stats()["revocation"], 0);
    assert!(env.accounts().is_empty());
    assert_eq!(server.refresh_directly("public-app", &refresh).0, 200);
}

#[test]
fn removing_a_profile_revokes_its_grants_unless_told_not_to() {
    let (server, env) = signed_in("gone");
    let refresh = stored_refresh_token(&env, "gone");
    let out = env.run(&["profile", "remove", "gone", "--yes"]);
    out.says(&["Removed profile `gone` and its account."]);
    assert!(
        out.stderr.contains("Revoked the refresh token of `gone/"),
        "{out:#?}"
    );
    assert_eq!(server.stats()["revocation"], 1);
    assert!(env.accounts().is_empty());
    let (status, body) = server.refresh_directly("public-app", &refresh);
    assert_eq!(status, 400, "revoked token still works: {body}");

    // Offline: nothing sent, the grant stays valid.
    let (server, env) = signed_in("kept");
    let refresh = stored_refresh_token(&env, "kept");
    let out = env.run(&["profile", "remove", "kept", "--yes", "--no-revoke"]);
    out.success();
    assert!(!out.stderr.contains("Revoked"), "{out:#?}");
    assert_eq!(server.stats()["revocation"], 0);
    assert_eq!(server.refresh_directly("public-app", &refresh).0, 200);
}

/// The secret of the test server's `conf-basic` client.
const BASIC_SECRET: &str = "s3cr+t/with:%chars&more";

#[test]
fn confidential_clients_with_basic_and_post() {
    let server = AuthServer::start();
    let env = Env::new();
    // The basic client's secret has + / : % &, which must be form-encoded before Basic.
    env.add_profile(&server, "basic", "conf-basic", Some(BASIC_SECRET));
    env.add_profile(&server, "post", "conf-post", Some("post-secret-123"));
    env.assert_not_on_disk(BASIC_SECRET);
    env.assert_not_on_disk("post-secret-123");
    assert_eq!(env.profile_json("post")["auth_method"], "post");

    for profile in ["basic", "post"] {
        env.login(profile).success();
        let token = env.token(&[profile]);
        assert_eq!(server.userinfo(&token).0, 200, "{profile}");
        env.run(&["refresh", profile]).success();
    }
    assert_eq!(server.count("authorization_code"), 2);
    assert_eq!(server.count("refresh_token"), 2);
    assert_eq!(server.stats()["token_errors"], 0);
}

#[test]
fn a_wrong_client_secret_fails_and_keeps_the_account() {
    let server = AuthServer::start();
    let env = Env::new();
    env.add_profile(&server, "wrongsecret", "conf-basic", Some(BASIC_SECRET));
    env.login("wrongsecret").success();
    let before = stored_tokens(&env, "wrongsecret");

    env.run_with_stdin(&["profile", "set-secret", "wrongsecret"], "not-the-secret")
        .success();
    let out = env.login("wrongsecret");
    out.fails_with(5, &["wrongsecret", "invalid_client"]);
    env.run(&["refresh", "wrongsecret"])
        .fails_with(5, &["invalid_client"]);

    // The account and its tokens are as they were.
    let after = stored_tokens(&env, "wrongsecret");
    assert_eq!(after.access_token.secret(), before.access_token.secret());
    assert_eq!(
        after.refresh_token.unwrap().secret(),
        before.refresh_token.unwrap().secret()
    );
    assert_eq!(env.accounts()[0]["status"], "ok");
}

#[test]
fn a_response_with_a_wrong_state_is_rejected_before_any_token_request() {
    let (server, env) = signed_in("state");
    let before = stored_tokens(&env, "state");

    let tampered = Env {
        dir: env.dir.clone(),
        browser_env: vec![
            ("SCRIPTED_BROWSER_TAMPER".into(), "state".into()),
            ("SCRIPTED_BROWSER_LOGIN".into(), "mallory".into()),
        ],
        extra_env: vec![],
    };
    // The listener refuses the response and keeps waiting for one with the right state.
    let out = tampered.run(&["login", "state", "--timeout", "3"]);
    std::mem::forget(tampered); // shares env's dir; env cleans up
    out.fails_with(
        8,
        &[
            "state",
            "within 3 s",
            "1 response with a wrong or missing `state` was refused",
            "nothing was stored",
        ],
    );
    assert_eq!(server.count("authorization_code"), 1, "no code exchange");
    let accounts = env.accounts();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["account"], "state/alice@example.test");
    assert_eq!(
        stored_tokens(&env, "state").access_token.secret(),
        before.access_token.secret()
    );
    // The browser got an error page, not a success page.
    let log = env.browser_log();
    assert!(log.lines().last().unwrap().ends_with(" 400"), "{log}");
}

#[test]
fn a_denied_consent_reports_access_denied() {
    let (server, env) = with_profile("deny", "public-app");
    let env = env.browser("SCRIPTED_BROWSER_ACTION", "deny");
    let out = env.login("deny");
    out.fails_with(
        5,
        &[
            "deny",
            "access_denied",
            "If you refused it, run `latchkey login deny` again and approve",
        ],
    );
    assert!(env.accounts().is_empty());
    assert_eq!(server.count("authorization_code"), 0);
}

#[test]
fn a_sign_in_nobody_finishes_times_out() {
    let (_server, env) = with_profile("slow", "public-app");
    let env = env.browser("SCRIPTED_BROWSER_ACTION", "ignore");
    let started = std::time::Instant::now();
    let out = env.run(&["login", "slow", "--timeout", "2"]);
    out.fails_with(
        8,
        &[
            "no answer from the browser within 2 s",
            "latchkey login slow",
        ],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert!(env.accounts().is_empty());
}

#[test]
fn no_browser_prints_the_url_and_an_explicit_account_label_is_used() {
    let (server, env) = with_profile("manual", "public-app");
    let (child, url) = env.start_login("login manual --no-browser --account work --timeout 30");
    // Act as the user: read the URL and open it in "a browser".
    let url = url.as_str();
    assert!(
        url.starts_with(&format!("{}/auth?", server.issuer)),
        "{url}"
    );
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("nonce="),
        "{url}"
    );
    let status = std::process::Command::new(root().join("tests/authserver/browser"))
        .arg(url)
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let accounts = env.accounts();
    assert_eq!(accounts[0]["account"], "manual/work");
}

#[test]
fn a_second_login_of_the_same_account_revokes_the_earlier_grant() {
    let (server, env) = signed_in("again");
    let earlier = stored_refresh_token(&env, "again");
    assert!(server.refresh_token_is_live(&earlier));

    let second = env.login("again");
    second.says(&["Signed in: again/alice@example.test"]);
    assert!(
        second.stderr.contains("revoked at the provider"),
        "{second:#?}"
    );
    assert_eq!(server.stats()["revocation"], 1);
    assert_eq!(server.introspect(&earlier)["active"], false);
    // The new grant is the one kept, and it works.
    let now = stored_refresh_token(&env, "again");
    assert_ne!(now, earlier);
    assert!(server.refresh_token_is_live(&now));
    assert_accepted_for_alice(&server, &env.token(&["again"]));
}
