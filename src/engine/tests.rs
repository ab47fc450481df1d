//! The engine's own logic on keyring-core's mock store and a one-answer local token endpoint:
//! no keyring daemon, no provider, so these run in parallel in milliseconds.

use std::sync::Arc;

use keyring_core::api::CredentialStoreApi;
use keyring_core::mock;
use oauth2::{AccessToken, ClientSecret, RefreshToken};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::*;
use crate::model::profile::{Endpoints, ManualEndpoints, NewProfile, ProfileExtras, RedirectMode};
use crate::model::secret::KeyPem;
use crate::store::keychain::SERVICE;

/// An engine on a fresh config directory and its own mock keychain.
fn engine() -> (Latchkey, Arc<mock::Store>) {
    let store = mock::Store::new().expect("mock store");
    let keychain = Keychain::default().with_store(store.clone());
    let http = Http::with_timeouts(
        false,
        Timeouts {
            connect: Duration::from_secs(5),
            total: Duration::from_secs(5),
        },
    )
    .expect("http client");
    (
        Latchkey::new(Config::temp(), keychain).with_http(http),
        store,
    )
}

fn new_profile(name: &str, token: Url) -> NewProfile {
    NewProfile {
        name: name.into(),
        client_id: "client".into(),
        endpoints: Endpoints::Manual(Box::new(ManualEndpoints {
            authorization: Url::parse("https://example.com/authorize").unwrap(),
            token,
            revocation: None,
            userinfo: None,
        })),
        scopes: vec!["read".into()],
        auth_method: None,
        redirect: RedirectMode::Loopback,
        redirect_uri: None,
    }
}

/// A token endpoint that gives one answer (`status`, JSON `body`) to one request, and hands
/// the request's form body back.
async fn token_endpoint(status: u16, body: &'static str) -> (Url, tokio::task::JoinHandle<String>) {
    token_endpoint_then(status, body, || {}).await
}

/// [`token_endpoint`], calling `on_request` when the request has come, before it answers.
async fn token_endpoint_then(
    status: u16,
    body: &'static str,
    on_request: impl FnOnce() + Send + 'static,
) -> (Url, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/token", listener.local_addr().unwrap())).unwrap();
    let served = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some((head, form)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if form.len() >= length || n == 0 {
                    on_request();
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    conn.write_all(answer.as_bytes()).await.unwrap();
                    return form.to_string();
                }
            }
        }
    });
    (url, served)
}

/// A signed-in account `NAME/me` of a public client at `token`, with an expired access token
/// and the refresh token `old-refresh`.
async fn signed_in(engine: &Latchkey, name: &str, token: Url) -> Account {
    engine
        .add_profile_with(new_profile(name, token), ProfileExtras::default(), None)
        .await
        .expect("profile added");
    stored_account(engine, name, None).await
}

/// The account `NAME/me` of an existing profile, stored with an expired access token, the
/// refresh token `old-refresh` and `dpop_key`.
async fn stored_account(engine: &Latchkey, name: &str, dpop_key: Option<KeyPem>) -> Account {
    let account = Account {
        profile: name.into(),
        label: "me".into(),
        subject: None,
        scopes: vec!["read".into()],
        expires_at: Some(1),
        has_refresh_token: true,
        needs_sign_in: None,
        signed_in_at: 1,
        default: false,
        dpop_bound: false,
    };
    let tokens = TokenSet {
        access_token: AccessToken::new("old-access".into()),
        refresh_token: Some(RefreshToken::new("old-refresh".into())),
        id_token: None,
        expires_at: Some(1),
        scopes: vec!["read".into()],
        dpop_bound: dpop_key.is_some(),
        dpop_key,
    };
    engine
        .keychain
        .set(&account.keychain_key(), tokens.to_bytes())
        .await
        .unwrap();
    engine.config.put_account(account.clone()).unwrap();
    account
}

/// An engine with the account `NAME/me` whose token endpoint answers `status` and `body`.
async fn refreshing(
    name: &str,
    status: u16,
    body: &'static str,
) -> (Latchkey, Account, tokio::task::JoinHandle<String>) {
    let (engine, _) = engine();
    let (url, served) = token_endpoint(status, body).await;
    let account = signed_in(&engine, name, url).await;
    (engine, account, served)
}

/// The refresh token the keychain holds for `account` now.
async fn refresh_token_now(engine: &Latchkey, account: &Account) -> String {
    let (_, tokens) = engine
        .stored_tokens(&account.id())
        .await
        .expect("stored tokens");
    tokens
        .refresh_token
        .expect("a refresh token")
        .secret()
        .clone()
}

/// Makes the mock keychain refuse the next operation on the client secret of `profile`.
fn refuse_secret(store: &mock::Store, profile: &str) {
    let entry = store.build(SERVICE, &secret_key(profile), None).unwrap();
    let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
    cred.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
}

#[tokio::test]
async fn a_profile_whose_secret_the_keychain_refuses_is_not_added() {
    let (engine, store) = engine();
    refuse_secret(&store, "refused");
    let token = Url::parse("https://example.com/token").unwrap();
    let add = || {
        engine.add_profile_with(
            new_profile("refused", token.clone()),
            ProfileExtras::default(),
            Some(ClientSecret::new("s3cret".into())),
        )
    };
    let err = add().await.expect_err("the keychain refused the secret");
    assert_eq!(err.kind(), crate::ErrorKind::Keychain, "{err}");
    assert!(
        matches!(engine.profile("refused"), Err(Error::ProfileNotFound(_))),
        "the profile was rolled back"
    );
    // The same add succeeds once the keychain takes the secret (the mock's error is spent).
    add().await.expect("added");
    assert!(engine.profile("refused").is_ok());
}

#[tokio::test]
async fn a_rotated_refresh_token_is_kept_when_the_answer_is_unusable() {
    // No access token: unusable, but the refresh token sent may be spent.
    const ANSWER: &str = r#"{"refresh_token":"rotated","token_type":"bearer"}"#;
    let (engine, account, served) = refreshing("rot", 200, ANSWER).await;
    let err = engine.refresh("rot/me").await.expect_err("unusable answer");
    assert!(served.await.unwrap().contains("refresh_token=old-refresh"));
    assert_eq!(err.kind(), crate::ErrorKind::Provider, "{err}");
    assert_eq!(refresh_token_now(&engine, &account).await, "rotated");
}

#[tokio::test]
async fn an_access_token_with_control_characters_is_refused_and_the_rotated_refresh_token_kept() {
    // A hostile provider's token that would add a header line and write to the terminal.
    const ANSWER: &str = r#"{"access_token":"AT\r\nX-Injected: 1\u001b]0;T\u0007","token_type":"bearer","refresh_token":"rotated"}"#;
    let (engine, account, _served) = refreshing("ctl", 200, ANSWER).await;
    let err = engine.refresh("ctl/me").await.expect_err("refused");
    assert_eq!(err.kind(), crate::ErrorKind::Provider, "{err}");
    let text = err.to_string();
    assert!(text.contains("printable ASCII"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains("X-Injected"),
        "{text}"
    );
    let (_, tokens) = engine.stored_tokens("ctl/me").await.expect("stored");
    assert_ne!(tokens.access_token.secret().as_str(), "");
    assert!(!tokens.access_token.secret().contains('\r'));
    assert_eq!(refresh_token_now(&engine, &account).await, "rotated");
}

#[tokio::test]
async fn callers_waiting_on_a_refresh_take_its_token_even_when_it_lives_less_than_they_asked() {
    // The provider's tokens live 30 s; both callers ask for 60. The endpoint answers once.
    const ANSWER: &str = r#"{"access_token":"short-lived","token_type":"bearer","expires_in":30,"refresh_token":"next"}"#;
    let (engine, _account, served) = refreshing("short", 200, ANSWER).await;
    let (a, b) = tokio::join!(engine.token("short/me", 60), engine.token("short/me", 60));
    served.await.unwrap();
    for (_, tokens) in [a.expect("first"), b.expect("second")] {
        assert_eq!(tokens.access_token.secret(), "short-lived");
    }
}

#[tokio::test]
async fn invalid_grant_marks_the_account_for_sign_in_and_keeps_it() {
    const ANSWER: &str = r#"{"error":"invalid_grant","error_description":"revoked"}"#;
    let (engine, account, _served) = refreshing("gone", 400, ANSWER).await;
    let told = Arc::new(std::sync::Mutex::new(Vec::new()));
    let engine = engine.with_notices({
        let told = told.clone();
        Arc::new(move |n: &crate::model::notice::Notice| told.lock().unwrap().push(n.clone()))
    });
    let err = engine.refresh("gone/me").await.expect_err("invalid_grant");
    assert_eq!(err.kind(), crate::ErrorKind::NeedsSignIn, "{err}");
    // Front ends are told once; the next call fails the same way without a new notice.
    let again = engine
        .refresh("gone/me")
        .await
        .expect_err("still needs sign-in");
    assert_eq!(again.kind(), crate::ErrorKind::NeedsSignIn);
    let told = told.lock().unwrap().clone();
    assert!(
        matches!(&told[..], [crate::model::notice::Notice::NeedsSignIn { account, reason }]
            if account == "gone/me" && reason.contains("revoked")),
        "{told:?}"
    );
    assert_eq!(
        err.hint(),
        Some(Hint::SignIn {
            profile: "gone".into(),
            account: Some("me".into()),
        })
    );
    let kept = engine.account("gone/me").expect("the account is kept");
    assert!(kept.needs_sign_in.is_some_and(|r| r.contains("revoked")));
    assert_eq!(refresh_token_now(&engine, &account).await, "old-refresh");
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    const ANSWER: &str = r#"{"access_token":"new-access","token_type":"bearer","expires_in":3600}"#;
    let (engine, account, _served) = refreshing("keep", 200, ANSWER).await;
    let (updated, tokens) = engine.refresh("keep/me").await.expect("refreshed");
    assert_eq!(tokens.access_token.secret(), "new-access");
    assert!(updated.has_refresh_token);
    assert_eq!(refresh_token_now(&engine, &account).await, "old-refresh");
}

#[tokio::test]
async fn a_refresh_whose_tokens_the_keychain_refuses_leaves_the_metadata_as_it_was() {
    let (engine, store) = engine();
    let key = Arc::new(std::sync::OnceLock::<String>::new());
    let refuse = {
        let (store, key) = (store.clone(), key.clone());
        // After the refresh read its tokens: the keychain refuses the write that follows.
        move || {
            let entry = store.build(SERVICE, key.get().unwrap(), None).unwrap();
            let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
            cred.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        }
    };
    let (url, _served) = token_endpoint_then(
        200,
        r#"{"access_token":"new-access","token_type":"bearer","expires_in":3600}"#,
        refuse,
    )
    .await;
    let account = signed_in(&engine, "refused", url).await;
    key.set(account.keychain_key()).unwrap();
    let err = engine.refresh("refused/me").await.expect_err("refused");
    assert_eq!(err.kind(), crate::ErrorKind::Keychain, "{err}");
    // The metadata was written beside the keychain's write; it says again what the keychain
    // holds (the agent plans its refreshes by this expiry).
    assert_eq!(engine.account("refused/me").unwrap(), account);
    let (_, tokens) = engine.stored_tokens(&account.id()).await.unwrap();
    assert_eq!(tokens.access_token.secret(), "old-access");
}

#[tokio::test]
async fn a_failed_import_puts_back_the_secrets_it_had_deleted() {
    let (engine, store) = engine();
    let token = Url::parse("https://example.com/token").unwrap();
    for name in ["a", "b"] {
        confidential(&engine, name, token.clone(), &format!("secret-{name}")).await;
    }
    let before = std::fs::read(engine.config().profiles_path()).unwrap();
    let raw = |name: &str| {
        let entry = store.build(SERVICE, &secret_key(name), None).unwrap();
        entry.get_secret().expect("the secret is there")
    };
    let secrets_before = [raw("a"), raw("b")];
    // Another client for both: their old secrets must go, `a`'s first, then `b`'s fails.
    let incoming: Vec<Profile> = ["a", "b"]
        .iter()
        .map(|n| Profile {
            client_id: "another-client".into(),
            ..engine.profile(n).unwrap()
        })
        .collect();
    refuse_secret(&store, "b");
    let err = engine
        .import_profiles(incoming, true)
        .await
        .expect_err("the keychain refused");
    assert_eq!(err.kind(), crate::ErrorKind::Keychain, "{err}");
    assert_eq!(
        std::fs::read(engine.config().profiles_path()).unwrap(),
        before,
        "the profiles are put back"
    );
    assert_eq!(
        [raw("a"), raw("b")],
        secrets_before,
        "both secrets are kept"
    );
}

/// Adds `name`, a confidential client (secret `secret`, sent in the body) of `token`.
async fn confidential(engine: &Latchkey, name: &str, token: Url, secret: &str) {
    let mut new = new_profile(name, token);
    new.auth_method = Some(crate::model::profile::AuthMethod::Post);
    engine
        .add_profile_with(
            new,
            ProfileExtras::default(),
            Some(ClientSecret::new(secret.into())),
        )
        .await
        .expect("added");
}

#[tokio::test]
async fn invalid_client_at_refresh_points_at_the_client_secret() {
    let (engine, _) = engine();
    let (url, _served) = token_endpoint(
        401,
        r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
    )
    .await;
    confidential(&engine, "conf", url, "wrong").await;
    stored_account(&engine, "conf", None).await;
    let err = engine.refresh("conf/me").await.expect_err("invalid_client");
    assert_eq!(err.kind(), crate::ErrorKind::Provider, "{err}");
    assert_eq!(
        err.hint(),
        Some(Hint::WrongClientSecret {
            profile: "conf".into()
        })
    );
}

#[test]
fn scope_errors_point_at_the_scopes_and_others_stay_as_they_are() {
    let profile = Profile::for_tests("p");
    let answer = |error: &str| crate::error::provider_error("sign-in", error, None, None);
    assert_eq!(
        advise(&profile, answer("invalid_scope")).hint(),
        Some(Hint::CheckScopes {
            profile: "p".into()
        })
    );
    // Mostly the user's own "Deny": not only the scopes.
    assert_eq!(
        advise(&profile, answer("access_denied")).hint(),
        Some(Hint::SignInDenied {
            profile: "p".into()
        })
    );
    // A public client has no secret to blame.
    assert_eq!(advise(&profile, answer("invalid_client")).hint(), None);
    assert_eq!(advise(&profile, answer("server_error")).hint(), None);
    let hinted = answer("access_denied").with_hint(Hint::UseScopes);
    assert_eq!(advise(&profile, hinted).hint(), Some(Hint::UseScopes));
}

#[test]
fn an_openid_issuer_without_scopes_gets_openid_and_offline_access_when_listed() {
    let metadata = |doc: serde_json::Value| {
        let mut base = serde_json::json!({"issuer": "https://as.example"});
        base.as_object_mut()
            .unwrap()
            .extend(doc.as_object().unwrap().clone());
        crate::protocol::discovery::parse(base).unwrap()
    };
    let default = |doc| super::profiles::default_scopes(&metadata(doc));
    assert_eq!(
        default(serde_json::json!({"scopes_supported": ["openid", "email", "offline_access"]})),
        ["openid", "offline_access"]
    );
    assert_eq!(
        default(serde_json::json!({"scopes_supported": ["openid", "email"]})),
        ["openid"]
    );
    assert_eq!(
        default(
            serde_json::json!({"jwks_uri": "https://as.example/jwks", "id_token_signing_alg_values_supported": ["RS256"]})
        ),
        ["openid"]
    );
    assert!(default(serde_json::json!({"scopes_supported": ["repo", "read:user"]})).is_empty());
    assert!(default(serde_json::json!({})).is_empty());
}

#[tokio::test]
async fn an_import_keeps_a_secret_the_new_auth_method_does_not_use() {
    let (engine, store) = engine();
    let token = Url::parse("https://example.com/token").unwrap();
    confidential(&engine, "keep", token, "kept-secret").await;
    let public = Profile {
        auth_method: crate::model::profile::AuthMethod::None,
        ..engine.profile("keep").unwrap()
    };
    engine
        .import_profiles(vec![public], true)
        .await
        .expect("replaced");
    let entry = store.build(SERVICE, &secret_key("keep"), None).unwrap();
    let kept = entry.get_secret().expect("the secret is kept");
    assert!(kept.ends_with(b"kept-secret"), "{kept:?}");
}

#[tokio::test]
async fn an_import_may_not_change_auth_method_or_jwks_uri_while_accounts_exist() {
    let (engine, store) = engine();
    let token = Url::parse("https://example.com/token").unwrap();
    let account = signed_in(&engine, "held", token).await;
    let before = std::fs::read(engine.config().profiles_path()).unwrap();
    let current = engine.profile("held").unwrap();
    let changes = [
        Profile {
            auth_method: crate::model::profile::AuthMethod::Post,
            ..current.clone()
        },
        Profile {
            jwks_uri: Some(Url::parse("https://keys.example.org/jwks").unwrap()),
            ..current.clone()
        },
    ];
    for (changed, what) in changes.into_iter().zip(["auth_method", "jwks_uri"]) {
        let err = engine
            .import_profiles(vec![changed], true)
            .await
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains(&account.id()) && text.contains(what) && text.contains("latchkey logout"),
            "{text}"
        );
        assert_eq!(
            std::fs::read(engine.config().profiles_path()).unwrap(),
            before,
            "nothing written"
        );
    }
    drop(store);
}

#[test]
fn a_provider_that_wants_par_is_told_apart() {
    for said in [
        "Pushed Authorization Request must be used",
        "PAR required for this client",
        "client requires PAR.",
    ] {
        assert!(super::says_par_required(Some(said)), "{said}");
    }
    for said in [
        "request_uri is invalid",
        "param is not allowed",
        "comparison failed",
    ] {
        assert!(!super::says_par_required(Some(said)), "{said}");
    }
    assert!(!super::says_par_required(None));
}

#[tokio::test]
async fn a_key_clients_key_is_never_sent_as_a_secret() {
    use crate::model::profile::AuthMethod;
    let (engine, _store) = engine();
    let mut new = new_profile("keyed", Url::parse("https://example.com/token").unwrap());
    new.auth_method = Some(AuthMethod::PrivateKeyJwt);
    engine
        .add_profile_with(new.clone(), ProfileExtras::default(), None)
        .await
        .expect("added with a key Latchkey makes");
    assert!(engine.client_public_jwks("keyed").await.is_ok());
    // Left on "automatic" in an edit, it stays a key client.
    new.auth_method = None;
    let edited = engine
        .update_profile(new.clone(), ProfileExtras::default(), None)
        .await
        .expect("edited");
    assert_eq!(edited.auth_method, AuthMethod::PrivateKeyJwt);
    // Moved to a secret method, it needs the secret: the key is not one.
    new.auth_method = Some(AuthMethod::Basic);
    let err = engine
        .update_profile(new, ProfileExtras::default(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs a client secret"), "{err}");
    // A hand edit of profiles.toml to `basic` finds the key refused, never sent.
    engine
        .config()
        .update_profiles(|all| {
            all.get_mut("keyed").unwrap().auth_method = AuthMethod::Basic;
            Ok(())
        })
        .unwrap();
    let profile = engine.profile("keyed").unwrap();
    let err = engine.client_secret(&profile).await.unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
}

#[tokio::test]
async fn an_unusable_dpop_key_spends_no_refresh_token() {
    let (engine, _store) = engine();
    // Nothing listens there: a request sent would fail as a network error, not as below.
    let token = Url::parse("http://127.0.0.1:9/token").unwrap();
    engine
        .add_profile_with(new_profile("bound", token), ProfileExtras::default(), None)
        .await
        .expect("profile added");
    let account = stored_account(&engine, "bound", Some(KeyPem::new("not a key"))).await;
    let err = engine.refresh("bound/me").await.expect_err("refused");
    assert_eq!(err.kind(), crate::ErrorKind::Usage, "{err}");
    assert!(err.to_string().contains("DPoP key"), "{err}");
    // The grant is untouched: the same refresh token, the account not marked.
    let (after, tokens) = engine.stored_tokens("bound/me").await.unwrap();
    assert_eq!(tokens.refresh_token.unwrap().secret(), "old-refresh");
    assert_eq!(after.needs_sign_in, None);
    assert_eq!(after.expires_at, account.expires_at);
}

#[tokio::test]
async fn an_account_without_a_refresh_token_is_told_to_sign_in_before_the_secret_is_read() {
    let (engine, _) = engine();
    let (url, _served) = token_endpoint(500, "{}").await;
    confidential(&engine, "conf", url, "s").await;
    // The secret went missing (imported profile, keychain cleaned): a refresh would need it,
    // but this account has nothing to refresh with.
    engine.keychain.delete(&secret_key("conf")).await.unwrap();
    let account = stored_account(&engine, "conf", None).await;
    let no_refresh = TokenSet {
        refresh_token: None,
        ..engine.stored_tokens(&account.id()).await.unwrap().1
    };
    engine
        .keychain
        .set(&account.keychain_key(), no_refresh.to_bytes())
        .await
        .unwrap();
    engine
        .config
        .update_accounts(|all| all[0].has_refresh_token = false)
        .unwrap();
    let err = engine
        .refresh("conf/me")
        .await
        .expect_err("nothing to refresh");
    assert_eq!(err.kind(), crate::ErrorKind::NeedsSignIn, "{err}");
    assert!(err.to_string().contains("no refresh token"), "{err}");
}
