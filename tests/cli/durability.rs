//! Nothing the provider issued is lost (issue 10): a rotated refresh token survives a keyring
//! locked around the refresh, and the longest accepted names sign in, get tokens and refresh.
//! The keyring is locked and unlocked over D-Bus; a small forwarding server in front of the
//! real test server lets a test act at the moment the provider is asked or has answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use latchkey::store::keychain::{Keychain, KeychainError};
use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use crate::util::*;

const SECRETS: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";

/// The test keyring's default collection, locked and unlocked over D-Bus as a screen lock and
/// the user would. Unlocked again when dropped, so a failing test leaves it usable.
struct Keyring {
    conn: Connection,
    collection: OwnedObjectPath,
}

impl Keyring {
    fn open() -> Arc<Self> {
        let conn = Connection::session().expect("session bus");
        let collection: OwnedObjectPath = Proxy::new(
            &conn,
            SECRETS,
            SERVICE_PATH,
            "org.freedesktop.Secret.Service",
        )
        .expect("service proxy")
        .call("ReadAlias", &("default",))
        .expect("ReadAlias");
        Arc::new(Keyring { conn, collection })
    }

    fn service(&self, interface: &'static str) -> Proxy<'_> {
        Proxy::new(&self.conn, SECRETS, SERVICE_PATH, interface).expect("proxy")
    }

    fn is_locked(&self) -> bool {
        Proxy::new(
            &self.conn,
            SECRETS,
            self.collection.as_str(),
            "org.freedesktop.Secret.Collection",
        )
        .expect("collection proxy")
        .get_property("Locked")
        .expect("Locked")
    }

    fn lock(&self) {
        let _: (Vec<OwnedObjectPath>, OwnedObjectPath) = self
            .service("org.freedesktop.Secret.Service")
            .call("Lock", &(vec![&self.collection],))
            .expect("Lock");
        assert!(self.is_locked());
    }

    /// gnome-keyring's prompt-free unlock (the standard `Unlock` needs a display), with the
    /// password `scripts/with-keyring` set, over a plain session on this same connection.
    fn unlock(&self) {
        let password = std::env::var("LATCHKEY_TEST_KEYRING_PASSWORD").expect("keyring password");
        let (_, session): (OwnedValue, OwnedObjectPath) = self
            .service("org.freedesktop.Secret.Service")
            .call("OpenSession", &("plain", Value::from("")))
            .expect("OpenSession");
        let secret = (
            &session,
            Vec::<u8>::new(),
            password.into_bytes(),
            "text/plain",
        );
        let _: () = self
            .service("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")
            .call("UnlockWithMasterPassword", &(&self.collection, secret))
            .expect("UnlockWithMasterPassword");
        assert!(!self.is_locked());
    }
}

/// Unlocks the keyring at the end of a test, also when it fails: the tests share it.
struct UnlockAtEnd(Arc<Keyring>);

impl Drop for UnlockAtEnd {
    fn drop(&mut self) {
        if self.0.is_locked() {
            self.0.unlock();
        }
    }
}

/// When a hook of the [`forwarder`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The request arrived; the provider has not seen it.
    Received,
    /// The provider answered; the client has not seen the answer.
    Answered,
}

/// A server in front of the test server: each request goes on to the same path there, and
/// `hook(path, stage)` runs while the client waits (it may lock the keyring, or sleep).
pub(crate) fn forwarder(
    server: &AuthServer,
    hook: impl Fn(&str, Stage) + Send + Sync + 'static,
) -> FaultServer {
    let origin = url::Url::parse(&server.issuer)
        .expect("issuer URL")
        .origin()
        .ascii_serialization();
    FaultServer::handle(move |_, req| {
        hook(&req.path, Stage::Received);
        let client = reqwest::blocking::Client::new();
        let url = format!("{origin}{}", req.path);
        let mut request = match req.method.as_str() {
            "POST" => client.post(url).form(&req.form),
            _ => client.get(url),
        };
        if let Some(auth) = req.headers.get("authorization") {
            request = request.header("authorization", auth);
        }
        let response = request.send().expect("forward to the test server");
        let status = response.status().as_u16();
        let body = response.text().expect("body");
        hook(&req.path, Stage::Answered);
        (Canned::new(status, "application/json", body), vec![])
    })
}

/// The URL `url` has at the forwarder (same path).
pub(crate) fn via(forwarder: &FaultServer, url: &str) -> String {
    let path = url::Url::parse(url).expect("URL").path().to_string();
    format!("{}{path}", forwarder.base)
}

/// A signed-in account `name` whose token requests go through a forwarder with `hook`; the
/// account's id.
pub(crate) fn signed_in_via(
    name: &str,
    hook: impl Fn(&str, Stage) + Send + Sync + 'static,
) -> (AuthServer, Env, FaultServer, String) {
    let (server, env) = signed_in(name);
    let forwarder = token_requests_via(&server, &env, name, hook);
    let id = account(&env, name).id();
    (server, env, forwarder, id)
}

/// Sends the token requests of profile `name` (the only one) through a forwarder with `hook`.
pub(crate) fn token_requests_via(
    server: &AuthServer,
    env: &Env,
    name: &str,
    hook: impl Fn(&str, Stage) + Send + Sync + 'static,
) -> FaultServer {
    let forwarder = forwarder(server, hook);
    let token_endpoint = env.profile_json(name)["token_endpoint"]
        .as_str()
        .expect("token endpoint")
        .to_string();
    set_profile_value(env, "token_endpoint", &via(&forwarder, &token_endpoint));
    forwarder
}

/// `latchkey refresh ACCOUNT` with extra environment variables.
fn refresh_with(env: &mut Env, account: &str, vars: &[(&str, &str)]) -> Run {
    env.extra_env = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = env.run(&["refresh", account]);
    env.extra_env.clear();
    out
}

/// What a [`forwarder`] runs while the client waits.
pub(crate) type Hook = Box<dyn Fn(&str, Stage) + Send + Sync>;

/// A hook that locks the keyring the first time `when(path, stage)` holds, and unlocks it
/// `unlock_after` later when given; with the flag that says whether it fired.
fn lock_once(
    keyring: &Arc<Keyring>,
    when: fn(&str, Stage) -> bool,
    unlock_after: Option<Duration>,
) -> (Hook, Arc<AtomicBool>) {
    let fired = Arc::new(AtomicBool::new(false));
    let (keyring, flag) = (keyring.clone(), fired.clone());
    let hook = move |path: &str, stage| {
        if when(path, stage) && !flag.swap(true, Ordering::SeqCst) {
            keyring.lock();
            if let Some(after) = unlock_after {
                let keyring = keyring.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(after);
                    keyring.unlock();
                });
            }
        }
    };
    (Box::new(hook), fired)
}

/// The provider has answered (and spent the refresh token sent): the client waits for it.
fn answered_refresh(path: &str, stage: Stage) -> bool {
    path == "/token" && stage == Stage::Answered
}

#[test]
fn a_rotated_refresh_token_survives_a_keyring_locked_while_the_refresh_is_in_flight() {
    let keyring = Keyring::open();
    let _unlock = UnlockAtEnd(keyring.clone());
    // The screen locks once the provider has answered; the user unlocks three seconds later.
    let (hook, fired) = lock_once(&keyring, answered_refresh, Some(Duration::from_secs(3)));
    let (server, mut env, _forwarder, id) = signed_in_via("inflight", hook);
    let old = stored_refresh_token(&env, &id);
    let refreshes = server.count("refresh_token");
    let out = refresh_with(&mut env, &id, &[]);
    out.success();
    assert!(fired.load(Ordering::SeqCst), "the keyring was never locked");
    assert!(
        out.stderr.contains(&format!(
            "unlock your keyring to keep the new refresh token for {id}"
        )),
        "{out:#?}"
    );
    assert_accepted_for_alice(&server, out.stdout.trim());
    // The old refresh token was spent (the server rotates); the one kept is its live successor.
    assert_eq!(server.count("refresh_token"), refreshes + 1);
    let kept = stored_refresh_token(&env, &id);
    assert_ne!(kept, old);
    let next = env.refresh(&id);
    assert_accepted_for_alice(&server, &next);
    assert_ne!(stored_refresh_token(&env, &id), kept);
}

#[test]
fn a_keyring_locked_before_the_refresh_token_is_sent_leaves_it_unspent() {
    let keyring = Keyring::open();
    let _unlock = UnlockAtEnd(keyring.clone());
    // The keyring locks while the signing keys are fetched, the last step that waits before
    // the tokens are read and the refresh token is sent.
    let (hook, fired) = lock_once(
        &keyring,
        |path, stage| path.contains("jwks") && stage == Stage::Received,
        None,
    );
    let (server, mut env, forwarder, id) = signed_in_via("before", hook);
    let discovery: serde_json::Value = reqwest::blocking::get(format!(
        "{}/.well-known/openid-configuration",
        server.issuer
    ))
    .and_then(|r| r.json())
    .expect("discovery");
    let jwks_uri = discovery["jwks_uri"]
        .as_str()
        .expect("jwks_uri")
        .to_string();
    set_profile_value(&env, "jwks_uri", &via(&forwarder, &jwks_uri));
    std::fs::remove_dir_all(env.config_dir().join("jwks")).expect("a cached key set");
    let held = stored_refresh_token(&env, &id);
    let refreshes = server.count("refresh_token");
    let out = refresh_with(&mut env, &id, &[("LATCHKEY_KEYCHAIN_TIMEOUT", "2")]);
    out.fails_with(7, &["keychain is locked"]);
    assert!(fired.load(Ordering::SeqCst), "the keyring was never locked");
    assert!(
        forwarder.requests_to("/token").is_empty(),
        "the refresh token was sent"
    );
    assert_eq!(server.count("refresh_token"), refreshes);
    keyring.unlock();
    assert_eq!(stored_refresh_token(&env, &id), held);
    let token = env.refresh(&id);
    assert_accepted_for_alice(&server, &token);
    assert_eq!(env.accounts()[0]["status"], "ok");
}

#[test]
fn a_keyring_that_stays_locked_after_the_answer_is_reported_as_a_lost_grant() {
    let keyring = Keyring::open();
    let _unlock = UnlockAtEnd(keyring.clone());
    let (hook, _) = lock_once(&keyring, answered_refresh, None);
    let (_server, mut env, _forwarder, id) = signed_in_via("lost", hook);
    let out = refresh_with(
        &mut env,
        &id,
        &[
            ("LATCHKEY_KEEP_TRYING_SECONDS", "3"),
            ("LATCHKEY_KEYCHAIN_TIMEOUT", "2"),
        ],
    );
    out.fails_with(
        7,
        &[
            &format!("unlock your keyring to keep the new refresh token for {id}"),
            "in 3 s of trying",
            "the grant is lost",
            "latchkey login lost",
        ],
    );
    keyring.unlock();
    // Said once more where the user looks next.
    let accounts = env.accounts();
    assert_eq!(accounts[0]["status"], "needs sign-in", "{accounts:?}");
    env.run(&["token", &id]).fails_with(
        4,
        &["did not take the refresh token", "latchkey login lost"],
    );
}

#[test]
fn only_an_entry_read_just_now_is_taken_as_writable_without_asking_the_keychain() {
    let keyring = Keyring::open();
    let _unlock = UnlockAtEnd(keyring.clone());
    let keychain = Keychain::default().with_timeout(Duration::from_secs(2));
    let (read, unread) = ("test:writable-read", "test:writable-unread");
    // Left over from an aborted run, `unread` would count as found by the write below.
    for key in [read, unread] {
        block_on(keychain.delete(key)).expect("delete");
    }
    block_on(keychain.set(read, b"x".to_vec())).expect("set");
    block_on(keychain.set(unread, b"y".to_vec())).expect("set");
    assert_eq!(
        block_on(keychain.get(read)).expect("get").as_deref(),
        Some(&b"x"[..])
    );
    keyring.lock();
    // Not read by this process: the keychain is asked, and it is locked.
    assert!(matches!(
        block_on(keychain.ensure_writable_for(unread)),
        Err(KeychainError::Locked)
    ));
    // Nor is a read that is no longer recent (that call took over a second) taken as the
    // answer.
    assert!(matches!(
        block_on(keychain.ensure_writable_for(read)),
        Err(KeychainError::Locked)
    ));
    keyring.unlock();
    for key in [read, unread] {
        block_on(keychain.delete(key)).expect("delete");
    }
}

/// Names of exactly `len` characters.
fn name(prefix: &str, len: usize) -> String {
    let mut name = prefix.to_string();
    while name.len() < len {
        name.push(char::from(b'a' + (name.len() % 26) as u8));
    }
    name
}

#[test]
fn the_longest_accepted_names_sign_in_get_tokens_and_refresh() {
    let server = AuthServer::start();
    let env = Env::new();
    // A 128-character profile, its account labelled from the id_token.
    let long_profile = name("profile-", 128);
    env.add_profile(&server, &long_profile, "public-app", None);
    env.login(&long_profile).success();
    assert_accepted_for_alice(&server, &env.token(&[&long_profile]));
    assert_accepted_for_alice(&server, &env.refresh(&long_profile));
    // A short profile with 124- and 128-character account labels.
    env.add_profile(&server, "s", "public-app", None);
    for len in [124, 128] {
        let label = name("account-", len);
        env.run(&["login", "s", "--account", &label, "--timeout", "30"])
            .success();
        let id = format!("s/{label}");
        assert_accepted_for_alice(&server, &env.token(&[&id]));
        assert_accepted_for_alice(&server, &env.refresh(&id));
    }
    // Client credentials profiles of 119 and 128 characters (account `PROFILE/client`).
    for len in [119, 128] {
        let machine = name("machine-", len);
        env.cli_stdin(
            &format!(
                "profile add {machine} --grant client-credentials --issuer {} --client-id m2m --client-secret-stdin",
                server.issuer
            ),
            "m2m-secret\n",
        )
        .success();
        assert!(!env.token(&[&machine]).is_empty());
        assert!(!env.refresh(&machine).is_empty());
    }
    assert_eq!(server.count("client_credentials"), 4);
    assert_eq!(env.accounts().len(), 5);
}
