//! Legacy grants (RFC 9700 discourages them), off unless a profile opts in with
//! `--allow-legacy-grant`. The resource owner password grant runs against the test server
//! (oidc-provider with the grant registered by tests/authserver/server.mjs) and against
//! `fakeas` for what that server will not do.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fakeas::{EMAIL, FakeAs, PASSWORD};
use crate::util::*;

static PROFILES: AtomicUsize = AtomicUsize::new(0);

/// Adds a profile for the well-behaved client of `fakeas` with `extra` flags; returns its name
/// (unique in the test run: keychain entries are named after profiles) and the run.
fn add(env: &Env, server: &FakeAs, prefix: &str, extra: &str) -> (String, Run) {
    add_at(
        env,
        &server.issuer,
        prefix,
        &format!("good --scope '{OIDC}' {extra}"),
    )
}

/// `profile add PREFIX-N --issuer ISSUER --client-id CLIENT_AND_FLAGS`, which must succeed;
/// the unique name and the run.
fn add_at(env: &Env, issuer: &str, prefix: &str, client_and_flags: &str) -> (String, Run) {
    let name = format!("{prefix}-{}", PROFILES.fetch_add(1, Ordering::SeqCst));
    let out = env.cli(&format!(
        "profile add {name} --issuer {issuer} --client-id {client_and_flags}"
    ));
    out.success();
    (name, out)
}

/// Refused with usage error 2: the profile did not opt in to the legacy `grant`.
#[track_caller]
fn assert_not_allowed(out: &Run, grant: &str) {
    let not_allowed = format!("does not allow the {grant} grant");
    let opt_in = format!("--allow-legacy-grant {grant}");
    out.fails_with(2, &[&not_allowed, "RFC 9700", &opt_in]);
}

/// `login NAME --password --username USER` with `password` on standard input.
fn password_login(env: &Env, name: &str, user: &str, password: &str) -> Run {
    env.run_with_stdin(
        &["login", name, "--password", "--username", user],
        &format!("{password}\n"),
    )
}

/// No account, and no tokens in the keychain for `name` with the fake provider's user.
#[track_caller]
fn assert_nothing_stored(env: &Env, name: &str) {
    env.assert_no_account(name, &[EMAIL]);
}

#[test]
fn the_password_grant_signs_in_once_and_keeps_no_password() {
    let server = FakeAs::start();
    let env = Env::new();
    let (name, added) = add(&env, &server, "pw", "--allow-legacy-grant password");
    assert!(
        added.stderr.contains("warning:") && added.stderr.contains("RFC 9700"),
        "a warning at add time: {added:#?}"
    );
    let shown = env.profile_json(&name);
    assert_eq!(
        shown["allowed_legacy_grants"],
        serde_json::json!(["password"])
    );

    // The password comes from standard input when it is not a terminal.
    let out = password_login(&env, &name, "eve", PASSWORD);
    out.success();
    assert!(
        out.stderr.contains("RFC 9700"),
        "a warning at each use: {out:#?}"
    );
    assert!(
        out.stdout.contains(&format!("Signed in: {name}/{EMAIL}")),
        "the id_token (verified) names the account: {out:#?}"
    );
    assert_eq!(server.hits("/token"), 1);
    env.assert_not_on_disk(PASSWORD);
    let tokens = stored_tokens(&env, &format!("{name}/{EMAIL}"));
    assert!(tokens.refresh_token.is_some());
    for secret in [
        Some(tokens.access_token.secret().as_str()),
        tokens.refresh_token.as_ref().map(|t| t.secret().as_str()),
    ]
    .into_iter()
    .flatten()
    {
        assert_ne!(secret, PASSWORD);
    }
    assert_eq!(env.token(&[&name]), tokens.access_token.secret().as_str());
}

#[test]
fn a_wrong_password_is_the_providers_error_and_stores_nothing() {
    let server = FakeAs::start();
    let env = Env::new();
    let (name, _) = add(&env, &server, "pw-wrong", "--allow-legacy-grant password");
    password_login(&env, &name, "eve", "not the password")
        .fails_with(5, &["invalid_grant", "wrong username or password"]);
    assert_nothing_stored(&env, &name);
    env.assert_not_on_disk("not the password");
}

#[test]
fn legacy_grants_are_refused_without_the_opt_in() {
    let server = FakeAs::start();
    let env = Env::new();
    let (name, added) = add(&env, &server, "pw-off", "");
    assert!(!added.stderr.contains("RFC 9700"), "{added:#?}");
    // Refused before any password is read (standard input is empty here).
    assert_not_allowed(
        &env.run(&["login", &name, "--password", "--username", "eve"]),
        "password",
    );
    assert_eq!(server.hits("/token"), 0, "nothing was sent");
    assert!(env.accounts().is_empty());
    // A profile that allows only the other legacy grant does not allow this one either.
    let (other, _) = add(
        &env,
        &server,
        "pw-implicit",
        "--allow-legacy-grant implicit",
    );
    env.run(&["login", &other, "--password", "--username", "eve"])
        .fails_with(2, &["does not allow the password grant"]);
    assert_eq!(server.hits("/token"), 0);
}

#[test]
fn legacy_grants_need_a_user_grant_profile_and_a_username() {
    let env = Env::new();
    env.cli_stdin(
        "profile add legacy-m2m --grant client-credentials --token-url http://127.0.0.1:9/token \
         --client-id m --client-secret-stdin --allow-legacy-grant password",
        "m2m-secret-value",
    )
    .fails_with(2, &["client credentials"]);
    env.run(&["login", "x", "--password"])
        .fails_with(2, &["--username"]);
}

/// A profile for the test server's implicit client (`id_token token`: oidc-provider issues
/// access tokens at the authorization endpoint only with an id_token).
fn add_implicit(env: &Env, server: &AuthServer, prefix: &str, allow: bool) -> (String, Run) {
    let allow = if allow {
        "--allow-legacy-grant implicit"
    } else {
        ""
    };
    let flags = format!("implicit-app --scope 'openid email' {allow}");
    add_at(env, &server.issuer, prefix, &flags)
}

#[test]
fn the_password_grant_signs_in_at_the_real_server_and_refreshes() {
    let server = AuthServer::start();
    let env = Env::new();
    let flags = format!("password-app --scope '{OIDC}' --allow-legacy-grant password");
    let (name, _) = add_at(&env, &server.issuer, "pw-real", &flags);
    let password = "zoe-password";
    let out = password_login(&env, &name, "zoe", password);
    out.success();
    // The server's id_token (signature and claims verified) names the account.
    let account = format!("{name}/zoe@example.test");
    assert!(
        out.stdout.contains(&format!("Signed in: {account}")),
        "{out:#?}"
    );
    assert_eq!(server.count("password"), 1);
    env.assert_not_on_disk(password);
    let first = stored_tokens(&env, &account);
    let (status, me) = server.userinfo(first.access_token.secret());
    assert_eq!(status, 200, "the provider accepts the token: {me}");
    assert_eq!(me["sub"], "zoe");
    // The refresh token works like any other: rotated, and the new token is accepted.
    env.run(&["refresh", &account]).success();
    assert_eq!(server.count("refresh_token"), 1);
    let second = stored_tokens(&env, &account);
    assert_ne!(second.access_token.secret(), first.access_token.secret());
    assert_eq!(server.userinfo(second.access_token.secret()).0, 200);

    // A wrong password is the provider's error, and the account is left as it was.
    password_login(&env, &name, "zoe", "not-zoes-password").fails_with(5, &["invalid_grant"]);
    let after = stored_tokens(&env, &account);
    assert_eq!(after.access_token.secret(), second.access_token.secret());
    env.assert_not_on_disk("not-zoes-password");
}

#[test]
fn the_implicit_grant_signs_in_through_the_loopback_page() {
    let server = AuthServer::start();
    let env = Env::new();
    let (name, added) = add_implicit(&env, &server, "implicit", true);
    assert!(added.stderr.contains("RFC 9700"), "{added:#?}");
    let out = env.run(&["login", &name, "--implicit", "--timeout", "30"]);
    out.success();
    assert!(
        out.stderr.contains("RFC 9700"),
        "a warning at each use: {out:#?}"
    );
    // The id_token (signature, nonce, at_hash) names the account.
    assert!(
        out.stdout
            .contains(&format!("Signed in: {name}/alice@example.test")),
        "{out:#?}"
    );
    // The browser got the page, its script, and posted the fragment back.
    let log = env.browser_log();
    assert!(
        log.contains("approve fragment http://127.0.0.1:") && log.contains("/callback 200"),
        "{log}"
    );
    // Nothing went through the token endpoint; no refresh token exists.
    assert_eq!(server.count("authorization_code"), 0);
    let accounts = env.accounts();
    assert_eq!(accounts[0]["has_refresh_token"], false, "{accounts:?}");
    let tokens = stored_tokens(&env, &format!("{name}/alice@example.test"));
    assert!(tokens.refresh_token.is_none());
    assert!(tokens.id_token.is_some());
    let (status, me) = server.userinfo(tokens.access_token.secret());
    assert_eq!(status, 200, "the provider accepts the token: {me}");
    assert_eq!(me["sub"], "alice");
    assert_eq!(env.token(&[&name]), tokens.access_token.secret().as_str());
}

#[test]
fn an_implicit_response_with_another_state_is_refused() {
    let server = AuthServer::start();
    let env = Env::new().browser("SCRIPTED_BROWSER_TAMPER", "state");
    let (name, _) = add_implicit(&env, &server, "implicit-state", true);
    // Refused, and the listener waits on for the right state until --timeout.
    env.run(&["login", &name, "--implicit", "--timeout", "3"])
        .fails_with(
            8,
            &[
                "within 3 s",
                "1 response with a wrong or missing `state` was refused",
                "nothing was stored",
            ],
        );
    assert!(env.accounts().is_empty());
    assert!(env.browser_log().contains(" 400"), "{}", env.browser_log());
}

#[test]
fn the_implicit_grant_is_refused_without_the_opt_in() {
    let server = AuthServer::start();
    let env = Env::new();
    let (name, _) = add_implicit(&env, &server, "implicit-off", false);
    assert_not_allowed(
        &env.run(&["login", &name, "--implicit", "--timeout", "30"]),
        "implicit",
    );
    assert_eq!(env.browser_log(), "", "no browser was opened");
    assert!(env.accounts().is_empty());
}

#[test]
fn plain_oauth_implicit_takes_the_token_from_the_fragment() {
    // Without `openid`: response_type=token, no id_token (fakeas; oidc-provider has no
    // response type `token` alone).
    let server = FakeAs::start();
    let env = Env::new();
    let flags = "good --scope email --allow-legacy-grant implicit";
    let (plain, _) = add_at(&env, &server.issuer, "implicit-plain", flags);
    let out = env.run(&["login", &plain, "--implicit", "--timeout", "30"]);
    out.success();
    assert!(
        out.stdout.contains(&format!("Signed in: {plain}/default")),
        "{out:#?}"
    );
    assert_eq!(server.hits("/token"), 0);
    let tokens = stored_tokens(&env, &format!("{plain}/default"));
    assert!(tokens.access_token.secret().starts_with("access-"));
    assert!(tokens.refresh_token.is_none() && tokens.id_token.is_none());
    let expires_in = env.accounts()[0]["expires_in"].as_i64().unwrap();
    assert!((3500..=3600).contains(&expires_in));
}

#[test]
fn an_implicit_id_token_bound_to_another_access_token_is_refused() {
    let flags = "at-hash-wrong --scope 'openid email' --allow-legacy-grant implicit";
    let server = FakeAs::start();
    let env = Env::new();
    let (name, _) = add_at(&env, &server.issuer, "at-hash", flags);
    env.run(&["login", &name, "--implicit", "--timeout", "30"])
        .fails_with(5, &["at_hash", &name]);
    assert_nothing_stored(&env, &name);
}

#[test]
fn an_implicit_id_token_from_fakeas_is_verified_and_accepted() {
    // The check above is not vacuous: the same provider's well-bound id_token passes.
    let server = FakeAs::start();
    let env = Env::new();
    let (name, _) = add(
        &env,
        &server,
        "implicit-oidc",
        "--allow-legacy-grant implicit",
    );
    let out = env.run(&["login", &name, "--implicit", "--timeout", "30"]);
    out.success();
    assert!(
        out.stdout.contains(&format!("Signed in: {name}/{EMAIL}")),
        "{out:#?}"
    );
}
