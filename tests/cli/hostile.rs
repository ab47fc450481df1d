//! Sign-ins against a provider that misbehaves on purpose (`fakeas`): every id_token defect,
//! every authorization-response defect and the hostile-server cases fail with a clear error,
//! store nothing, and the authorization-response defects never reach the token endpoint.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use latchkey::store::config::Config;
use latchkey::{
    AuthorizationResponse, Endpoints, Error, Latchkey, NewProfile, ProfileExtras, RedirectMode,
};

use crate::fakeas::{EMAIL, FakeAs, MAC_KEY, Options};
use crate::util::*;

static PROFILES: AtomicUsize = AtomicUsize::new(0);

/// Adds a profile for `client` and returns its name, unique in the test run: the Secret
/// Service is shared by all tests, and keychain entries are named after profiles.
fn add(env: &Env, server: &FakeAs, client: &str, scope: &str) -> String {
    let name = format!("{client}-{}", PROFILES.fetch_add(1, Ordering::SeqCst));
    let issuer = &server.issuer;
    env.cli(&format!(
        "profile add {name} --issuer {issuer} --client-id {client} --scope '{scope}'"
    ))
    .success();
    name
}

/// The fake provider, and a user with a profile for its `client` (scopes [`OIDC`]).
fn fake_profile(client: &str) -> (FakeAs, Env, String) {
    let server = FakeAs::start();
    let env = Env::new();
    let name = add(&env, &server, client, OIDC);
    (server, env, name)
}

/// [`fake_profile`], signed in; also the tokens the sign-in stored.
fn fake_signed_in(client: &str) -> (FakeAs, Env, String, latchkey::TokenSet) {
    let (server, env, name) = fake_profile(client);
    env.login(&name).success();
    let tokens = stored_tokens(&env, &name);
    (server, env, name, tokens)
}

/// No account in `latchkey accounts --json`, no tokens in the keychain under any label the
/// sign-in could have used.
#[track_caller]
fn assert_nothing_stored(env: &Env, profile: &str) {
    env.assert_no_account(profile, &[EMAIL, "eve", "default"]);
}

/// Signs in with the client that has the defect; the sign-in must fail with `code` and every
/// needle, and store nothing.
#[track_caller]
fn sign_in_fails(client: &str, code: i32, needles: &[&str]) -> (FakeAs, Env, Run) {
    let (server, env, name) = fake_profile(client);
    let out = env.login(&name);
    out.fails_with(code, needles);
    assert!(
        out.stderr.contains(&name),
        "names the profile: {}",
        out.stderr
    );
    assert_nothing_stored(&env, &name);
    (server, env, out)
}

/// Tests whose whole body is one call of a helper below that asserts the failure:
/// `#[test] fn NAME() => HELPER(ARGS);`.
macro_rules! one_line_tests {
    ($(#[test] fn $name:ident() => $check:ident($($arg:expr),* $(,)?);)*) => {
        $(
            #[test]
            fn $name() {
                $check($($arg),*);
            }
        )*
    };
}

// ----- the well-behaved path of the fake provider (the checks below are not vacuous)

#[test]
fn a_well_behaved_provider_signs_in_with_rs256_and_es256() {
    let (server, env, good) = fake_profile("good");
    let es256 = add(&env, &server, "good-es256", OIDC);
    env.login(&good).success();
    env.login(&es256).success();
    let accounts = env.accounts();
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    assert_eq!(accounts[0]["account"], format!("{good}/{EMAIL}"));
    assert!(stored_tokens(&env, &good).id_token.is_some());
    // Discovery's algorithms, less HS256, are the profile's allow-list.
    let profile = Config::new(env.config_dir()).profile(&good).unwrap();
    assert_eq!(
        profile.id_token_signing_alg_values_supported,
        ["RS256", "ES256"]
    );
    // One JWKS fetch, then the cache (the server allows an hour).
    assert_eq!(server.hits("/jwks"), 1);
    assert_eq!(server.hits("/token"), 2);
    // A refresh: same checks, the nonce is missing from the refreshed id_token (allowed).
    env.run(&["refresh", &good]).success();
    assert_eq!(server.hits("/token"), 3);
    assert_eq!(server.hits("/jwks"), 1);
}

// ----- id_token defects: the token endpoint answered, the token is refused

one_line_tests! {
    #[test] fn an_id_token_with_a_bad_signature_is_refused()
        => sign_in_fails("bad-signature", 5, &["id_token", "RS256 signature does not verify", "key-a"]);
    #[test] fn an_unsigned_id_token_alg_none_is_refused()
        => sign_in_fails("alg-none", 5, &["id_token", "`none`", "unsigned"]);
    #[test] fn an_id_token_hs256_signed_with_the_public_key_is_refused()
        => sign_in_fails("hs256-public-key", 5, &["id_token", "`HS256`", "accepts only RS256, ES256"]);
    #[test] fn an_id_token_for_another_audience_is_refused()
        => sign_in_fails("wrong-aud", 5, &["id_token", "audience", "someone-else"]);
    #[test] fn an_id_token_from_another_issuer_is_refused()
        => sign_in_fails("wrong-iss", 5, &["id_token", r#"its issuer is "https://evil.example""#]);
    #[test] fn an_expired_id_token_is_refused()
        => sign_in_fails("expired", 5, &["id_token", "expired", "leeway 120 s"]);
    #[test] fn an_id_token_issued_in_the_future_is_refused()
        => sign_in_fails("future-iat", 5, &["id_token", "in the future"]);
    #[test] fn an_id_token_with_another_nonce_is_refused()
        => sign_in_fails("nonce-mismatch", 5, &["id_token", "nonce does not match"]);
    #[test] fn an_id_token_without_the_nonce_is_refused()
        => sign_in_fails("nonce-missing", 5, &["id_token", "carries no nonce"]);
}

#[test]
fn an_id_token_with_an_unknown_key_id_is_refused_after_one_fetch() {
    let (server, _env, _) = sign_in_fails(
        "unknown-kid",
        5,
        &["id_token", r#"no RS256 key with id "key-b""#],
    );
    // A freshly fetched key set is not fetched again.
    assert_eq!(server.hits("/jwks"), 1);
}

#[test]
fn key_rotation_refetches_the_key_set_once_and_only_once() {
    let server = FakeAs::start();
    let env = Env::new();
    let [good, unknown, rotated] =
        ["good", "unknown-kid", "rotated"].map(|c| add(&env, &server, c, OIDC));
    env.login(&good).success();
    assert_eq!(server.hits("/jwks"), 1);
    // An unknown kid against cached keys: one refetch, then a clear refusal (no loop).
    env.login(&unknown).fails_with(5, &["id_token", "key-b"]);
    assert_eq!(server.hits("/jwks"), 2);
    // The provider publishes key B; the cache (fetched before) lacks it: one refetch, accepted.
    server.rotate();
    env.login(&rotated).success();
    assert_eq!(server.hits("/jwks"), 3);
    // Now cached.
    env.login(&rotated).success();
    assert_eq!(server.hits("/jwks"), 3);
}

#[test]
fn an_algorithm_discovery_does_not_advertise_is_refused() {
    let server = FakeAs::with(Options {
        algs: vec!["RS256"],
        ..Options::default()
    });
    let env = Env::new();
    let name = add(&env, &server, "good-es256", OIDC);
    env.login(&name)
        .fails_with(5, &["id_token", "`ES256`", "accepts only RS256"]);
    assert_nothing_stored(&env, &name);
}

// ----- authorization-response defects: refused before any token request

#[track_caller]
fn refused_before_the_token_endpoint(client: &str, code: i32, needles: &[&str]) {
    let (server, _env, _) = sign_in_fails(client, code, needles);
    assert_eq!(server.hits("/authorize"), 1, "the browser got there");
    assert_eq!(server.hits("/token"), 0, "no token request for {client}");
}

one_line_tests! {
    #[test] fn an_authorization_response_from_another_issuer_is_refused()
        => refused_before_the_token_endpoint("iss-wrong", 8, &[r#"comes from issuer "https://evil.example""#, "nothing was stored"]);
    #[test] fn an_authorization_response_without_the_promised_iss_is_refused()
        => refused_before_the_token_endpoint("iss-missing", 8, &["lacks the `iss` parameter", "RFC 9207"]);
}

#[test]
fn an_authorization_response_without_state_is_refused() {
    // The listener refuses it and keeps waiting for a response with the state, until --timeout.
    let (server, env, name) = fake_profile("state-missing");
    let out = env.run(&["login", &name, "--timeout", "3"]);
    out.fails_with(
        8,
        &[
            &name,
            "within 3 s",
            "1 response with a wrong or missing `state` was refused",
            "nothing was stored",
        ],
    );
    assert_nothing_stored(&env, &name);
    assert_eq!(server.hits("/authorize"), 1, "the browser got there");
    assert_eq!(server.hits("/token"), 0, "no token request");
}

#[test]
fn stray_callbacks_with_a_wrong_state_do_not_end_the_sign_in() {
    let (server, env, name) = fake_profile("good");
    let (mut child, authorize) =
        env.start_login(&format!("login {name} --no-browser --timeout 20"));
    let param = |k: &str| {
        authorize
            .query_pairs()
            .find(|(n, _)| n == k)
            .unwrap()
            .1
            .into_owned()
    };
    let (redirect, state) = (param("redirect_uri"), param("state"));
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Any web page can send these to the loopback port: refused, and the sign-in goes on.
    for forged in [
        format!("{redirect}?code=forged&state=not-{state}"),
        format!("{redirect}?code=forged"),
        format!("{redirect}?error=access_denied&state=forged"),
    ] {
        let answer = client.get(&forged).send().unwrap();
        assert_eq!(answer.status(), 400, "{forged}");
        assert!(answer.text().unwrap().contains("does not belong"));
    }
    assert_eq!(
        client
            .get(redirect.replace("/callback", "/favicon.ico"))
            .send()
            .unwrap()
            .status(),
        404
    );
    assert!(child.try_wait().unwrap().is_none(), "still waiting");
    // Now the real browser: the provider redirects back with the code and the state.
    let answer = client.get(authorize.as_str()).send().unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains(&format!("state={state}")), "{location}");
    assert_eq!(client.get(&location).send().unwrap().status(), 200);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{stdout}");
    assert!(stdout.contains("Signed in"), "{stdout}");
    assert_eq!(
        server.hits("/token"),
        1,
        "one code exchange, for the real code"
    );
    assert_eq!(env.accounts()[0]["account"], format!("{name}/{EMAIL}"));
}

one_line_tests! {
    #[test] fn an_error_response_is_reported_with_its_description_and_uri()
        => refused_before_the_token_endpoint("error-response", 5, &["access_denied", "the user said no", "https://as.example/help/denied"]);
}

// ----- hostile or broken token endpoints

#[test]
fn a_redirect_at_the_token_endpoint_is_not_followed() {
    let (server, _env, _) = sign_in_fails(
        "token-redirect",
        5,
        &["HTTP 307", "does not follow redirects", "/token-elsewhere"],
    );
    assert_eq!(server.hits("/token-elsewhere"), 0);
}

one_line_tests! {
    #[test] fn a_20_mb_token_response_is_cut_off()
        => sign_in_fails("huge-body", 5, &["exceeds 1048576 bytes"]);
    #[test] fn an_html_500_is_reported_with_an_excerpt()
        => sign_in_fails("html-500", 5, &["HTTP 500", "text/html", "Internal Server Error"]);
    #[test] fn a_non_json_answer_is_reported_with_an_excerpt()
        => sign_in_fails("not-json", 5, &["HTTP 200", "text/plain", "welcome to the token endpoint"]);
}

const SECRETISH: &str = "secret-access-token-0123456789abcdef";

/// [`sign_in_fails`] with exit code 5 for a client whose token answer carries [`SECRETISH`]:
/// the error does not show it.
#[track_caller]
fn refused_without_the_secret(client: &str, needles: &[&str]) -> Run {
    let (_, _, out) = sign_in_fails(client, 5, needles);
    assert!(!out.stderr.contains(SECRETISH), "{}", out.stderr);
    out
}

one_line_tests! {
    #[test] fn truncated_json_is_reported_without_the_token_in_it()
        => refused_without_the_secret("truncated", &["HTTP 200", "[redacted]"]);
}

#[test]
fn a_response_without_access_token_is_refused() {
    // The error quotes what came back, with the refresh token masked.
    refused_without_the_secret(
        "no-access-token",
        &[
            "access_token",
            "provider sent",
            r#""token_type":"Bearer""#,
            r#""expires_in":3600"#,
            r#""refresh_token":"[redacted]""#,
        ],
    );
}

#[test]
fn an_access_token_with_control_characters_is_refused_and_nothing_raw_printed() {
    let out = refused_without_the_secret(
        "control-token",
        &[
            "printable ASCII",
            "so it was not taken",
            r#""access_token":"[redacted]""#,
        ],
    );
    for raw in ["\u{1b}", "\r", "X-Injected: 1\n"] {
        assert!(!out.stderr.contains(raw), "{:?}", out.stderr);
        assert!(!out.stdout.contains(raw), "{:?}", out.stdout);
    }
}

#[test]
fn a_mac_token_is_refused() {
    let answer = [
        r#""token_type":"MAC""#,
        r#""mac_algorithm":"hmac-sha-256""#,
        r#""access_token":"[redacted]""#,
        r#""mac_key":"[redacted]""#,
    ];
    let needles = [
        &["`mac` token", "Bearer tokens only", "provider sent"][..],
        &answer,
    ]
    .concat();
    let out = refused_without_the_secret("mac", &needles);
    assert!(!out.stderr.contains(MAC_KEY), "{}", out.stderr);
}

#[test]
fn a_token_endpoint_that_never_answers_times_out() {
    let server = FakeAs::start();
    let env = Env::new();
    // The product's 30 s would make a slow test; the engine takes a shorter one.
    let engine = Latchkey::open_at(env.config_dir())
        .with_http_timeout(Duration::from_secs(2), Duration::from_secs(2));
    block_on(engine.add_profile_with(
        NewProfile {
            name: "slow".into(),
            client_id: "slow".into(),
            endpoints: Endpoints::Issuer(server.issuer.clone()),
            scopes: vec!["openid".into(), "email".into()],
            auth_method: None,
            redirect: RedirectMode::Loopback,
            redirect_uri: None,
        },
        ProfileExtras::default(),
        None,
    ))
    .unwrap();
    let pending =
        block_on(engine.begin_login("slow", None, "http://127.0.0.1:9/callback".parse().unwrap()))
            .unwrap();
    // Play the browser: the authorization endpoint redirects straight back.
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = client
        .get(pending.request.authorization_url.as_str())
        .send()
        .unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let response = AuthorizationResponse::from_url(&location.parse().unwrap()).unwrap();
    let started = Instant::now();
    let err = block_on(engine.complete_login(pending, response)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("slow") && text.contains("no answer within 2 s"),
        "{text}"
    );
    assert_eq!(server.hits("/token"), 1);
    assert_nothing_stored(&env, "slow");
}

// ----- the key set and the other endpoints

#[test]
fn a_redirecting_jwks_uri_is_not_followed_and_the_code_is_not_spent() {
    let server = FakeAs::with(Options {
        jwks_redirect: true,
        ..Options::default()
    });
    let env = Env::new();
    let name = add(&env, &server, "good", OIDC);
    env.login(&name).fails_with(
        5,
        &["signing keys", "HTTP 302", "does not follow redirects"],
    );
    assert_eq!(server.hits("/jwks-moved"), 1);
    assert_eq!(server.hits("/jwks"), 0);
    // The keys are fetched before the code is exchanged.
    assert_eq!(server.hits("/token"), 0);
    assert_nothing_stored(&env, &name);
}

#[test]
fn a_refreshed_id_token_is_verified_too() {
    let server = FakeAs::start();
    let env = Env::new();
    let [bad, sub] =
        ["refresh-bad-signature", "refresh-sub-change"].map(|c| add(&env, &server, c, OIDC));
    for name in [&bad, &sub] {
        env.login(name).success();
    }
    let before = [&bad, &sub].map(|n| stored_tokens(&env, n));
    env.run(&["refresh", &bad])
        .fails_with(5, &["id_token", "signature does not verify"]);
    env.run(&["refresh", &sub]).fails_with(
        5,
        &["id_token", r#"subject changed from "eve" to "mallory""#],
    );
    // Both accounts now need a new sign-in, and the refused tokens were not stored...
    for a in env.accounts() {
        assert_eq!(a["status"], "needs sign-in", "{a}");
    }
    for (name, before) in [&bad, &sub].into_iter().zip(&before) {
        let after = stored_tokens(&env, name);
        assert_eq!(after.access_token.secret(), before.access_token.secret());
        assert_eq!(
            after.id_token.as_ref().map(|t| t.secret()),
            before.id_token.as_ref().map(|t| t.secret())
        );
        // ...except the refresh token the provider rotated in: the one sent is spent, and the
        // new one is kept (for `logout` to revoke).
        let (old, new) = (
            before.refresh_token.as_ref().unwrap().secret(),
            after.refresh_token.as_ref().unwrap().secret(),
        );
        assert!(!server.refresh_token_is_live(old), "{name}: spent");
        assert_ne!(old, new, "{name}");
        assert!(
            server.refresh_token_is_live(new),
            "{name}: rotated one kept"
        );
    }
}

#[test]
fn a_rotated_refresh_token_survives_a_key_set_that_cannot_be_fetched() {
    let (server, env, name) = fake_profile("refresh-unknown-kid");
    env.login(&name).success();
    assert_eq!(server.hits("/jwks"), 1);
    let before = stored_tokens(&env, &name);
    let spent = before.refresh_token.clone().unwrap();
    // The refreshed id_token names key B; the refetch of the key set meets a redirect.
    server.break_jwks(true);
    env.run(&["refresh", &name])
        .fails_with(5, &["signing keys", "HTTP 302"]);
    assert_eq!(
        server.hits("/token"),
        2,
        "the provider did answer the refresh"
    );
    assert_eq!(server.hits("/jwks"), 2, "one refetch");
    assert!(!server.refresh_token_is_live(spent.secret()));
    // The rotated refresh token was stored; nothing else from the unverified answer was.
    let after = stored_tokens(&env, &name);
    let kept = after.refresh_token.clone().unwrap();
    assert_ne!(kept.secret(), spent.secret());
    assert!(server.refresh_token_is_live(kept.secret()));
    assert_eq!(after.access_token.secret(), before.access_token.secret());
    assert_eq!(
        after.id_token.as_ref().map(|t| t.secret()),
        before.id_token.as_ref().map(|t| t.secret())
    );
    // Not the account's fault: it does not need a new sign-in.
    assert_ne!(env.accounts()[0]["status"], "needs sign-in");
    // Once the keys can be fetched (and have key B), the next refresh works with the kept token.
    server.break_jwks(false);
    server.rotate();
    env.run(&["refresh", &name]).success();
    assert_eq!(server.hits("/token"), 3);
    let healed = stored_tokens(&env, &name);
    assert_ne!(healed.access_token.secret(), before.access_token.secret());
    assert!(!server.refresh_token_is_live(kept.secret()));
    assert!(server.refresh_token_is_live(healed.refresh_token.as_ref().unwrap().secret()));
}

#[test]
fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let (server, env, name, before) = fake_signed_in("refresh-no-rotation");
    let refresh_token = before.refresh_token.clone().unwrap();
    env.run(&["refresh", &name]).success();
    let after = stored_tokens(&env, &name);
    assert_ne!(after.access_token.secret(), before.access_token.secret());
    assert_eq!(
        after.refresh_token.as_ref().map(|t| t.secret()),
        Some(refresh_token.secret())
    );
    assert_eq!(
        env.accounts()[0]["has_refresh_token"],
        true,
        "{:?}",
        env.accounts()
    );
    // The kept refresh token still works.
    env.run(&["refresh", &name]).success();
    assert_eq!(server.hits("/token"), 3);
    let again = stored_tokens(&env, &name);
    assert_ne!(again.access_token.secret(), after.access_token.secret());
    assert_eq!(
        again.refresh_token.as_ref().map(|t| t.secret()),
        Some(refresh_token.secret())
    );
}

#[test]
fn an_unusable_refresh_answer_still_keeps_its_rotated_refresh_token() {
    let (server, env, name, before) = fake_signed_in("refresh-mac");
    let spent = before.refresh_token.clone().unwrap();
    env.run(&["refresh", &name])
        .fails_with(5, &["`mac` token", "Bearer tokens only"]);
    assert!(!server.refresh_token_is_live(spent.secret()));
    let after = stored_tokens(&env, &name);
    let kept = after.refresh_token.clone().unwrap();
    assert_ne!(kept.secret(), spent.secret());
    assert!(
        server.refresh_token_is_live(kept.secret()),
        "the rotated refresh token is the one stored"
    );
    // Nothing else from the unusable answer was taken.
    assert_eq!(after.access_token.secret(), before.access_token.secret());
}

#[test]
fn a_redirect_at_the_revocation_endpoint_keeps_the_account() {
    let (server, env, name) = fake_profile("revoke-redirect");
    env.login(&name).success();
    env.run(&["logout", &name]).fails_with(
        5,
        &["HTTP 307", "does not follow redirects", "account was kept"],
    );
    assert_eq!(server.hits("/revoke"), 1);
    assert_eq!(server.hits("/revoke-elsewhere"), 0);
    assert_eq!(env.accounts().len(), 1);
}

#[test]
fn an_id_token_is_ignored_when_openid_was_not_asked_for() {
    let server = FakeAs::start();
    let env = Env::new();
    let name = add(&env, &server, "garbage-id-token", "email offline_access");
    env.login(&name).success();
    assert!(stored_tokens(&env, &name).id_token.is_none());
    assert_eq!(env.accounts()[0]["account"], format!("{name}/default"));
    assert_eq!(server.hits("/jwks"), 0);
}

#[test]
fn openid_without_a_key_set_fails_closed() {
    let env = Env::new();
    // Discovery without jwks_uri.
    let server = FakeAs::with(Options {
        no_jwks: true,
        ..Options::default()
    });
    let issuer = &server.issuer;
    env.add_oidc_profile(issuer, "nokeys", "good")
        .fails_with(2, &["nokeys", "jwks_uri", "--issuer", "`openid`"]);
    // Hand-given endpoints have no keys either.
    env.cli(&format!(
        "profile add manual --authorize-url {issuer}/authorize --token-url {issuer}/token \
         --client-id good --scope openid"
    ))
    .fails_with(2, &["manual", "--issuer"]);
    // A profile edited by hand to lose its jwks_uri is refused before the browser opens.
    let good = FakeAs::start();
    let name = add(&env, &good, "good", OIDC);
    let path = env.config_dir().join("profiles.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited: String = text
        .lines()
        .filter(|l| !l.starts_with("jwks_uri"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    env.login(&name).fails_with(2, &[&name, "jwks_uri"]);
    assert_eq!(good.hits("/authorize"), 0);
    assert_nothing_stored(&env, &name);
}
