//! What the verbs' unit tests share: an engine on a fresh config directory and keyring-core's
//! mock keychain (no keyring daemon, no provider), captured output, a closed pipe, a fixed
//! clock.

use std::path::PathBuf;

use keyring_core::mock;
use latchkey::store::config::Config;
use latchkey::store::keychain::Keychain;
use latchkey::{Account, AuthMethod, Endpoints, Latchkey, NewProfile, Profile, ProfileExtras};

use super::io::Io;

/// The fake clock's "now": 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;

thread_local! {
    /// The directories of the test running on this thread, removed when it ends: libtest gives
    /// each test a thread of its own.
    static DIRS: std::cell::RefCell<Vec<tempfile::TempDir>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A fresh private directory (0700 on Unix, as Latchkey wants its directories) under the
/// system's temp directory, removed when the test ends.
pub fn temp_dir(what: &str) -> PathBuf {
    let dir = tempfile::TempDir::with_prefix(format!("latchkey-cli-{what}-")).expect("temp dir");
    let path = dir.path().to_path_buf();
    DIRS.with_borrow_mut(|dirs| dirs.push(dir));
    path
}

/// An engine on a fresh config directory and its own mock keychain.
pub fn engine() -> Latchkey {
    let store = mock::Store::new().expect("mock store");
    Latchkey::new(
        Config::new(temp_dir("config")),
        Keychain::default().with_store(store),
    )
}

/// [`engine`] with the public client `name` ([`add_profile`]).
pub async fn engine_with_profile(name: &str) -> Latchkey {
    let engine = engine();
    add_profile(&engine, name, None).await;
    engine
}

/// [`engine_with_profile`] for the profile of `account` (`PROFILE/LABEL`), with the account
/// recorded ([`add_account`]).
pub async fn engine_with_account(account: &str) -> Latchkey {
    let (profile, _) = account.split_once('/').expect("PROFILE/LABEL");
    let engine = engine_with_profile(profile).await;
    add_account(&engine, account, |_| {});
    engine
}

/// Adds the public client `name` (manual endpoints at `https://as.example`, no network), with
/// `auth_method` (`private_key_jwt`: the engine makes its key).
pub async fn add_profile(engine: &Latchkey, name: &str, auth_method: Option<AuthMethod>) {
    let p = Profile::for_tests(name);
    let new = NewProfile {
        name: name.into(),
        client_id: "client".into(),
        endpoints: Endpoints::Manual(Box::new(latchkey::engine::ManualEndpoints {
            authorization: p.authorization_endpoint,
            token: p.token_endpoint,
            revocation: None,
            userinfo: None,
        })),
        scopes: vec!["read".into()],
        auth_method,
        redirect: Default::default(),
        redirect_uri: None,
    };
    engine
        .add_profile_with(new, ProfileExtras::default(), None)
        .await
        .expect("profile added");
}

/// Records the account `PROFILE/LABEL` in the config (no token in the keychain).
pub fn add_account(engine: &Latchkey, id: &str, edit: impl FnOnce(&mut Account)) -> Account {
    let (profile, label) = id.split_once('/').expect("PROFILE/LABEL");
    let mut account = Account {
        profile: profile.into(),
        label: label.into(),
        subject: None,
        scopes: vec!["read".into()],
        expires_at: Some(NOW + 3600),
        has_refresh_token: true,
        needs_sign_in: None,
        signed_in_at: NOW - 60,
        default: false,
        dpop_bound: false,
    };
    edit(&mut account);
    engine
        .config()
        .put_account(account.clone())
        .expect("account recorded");
    account
}

/// A verb's output and messages, captured.
#[derive(Default)]
pub struct Captured {
    out: Vec<u8>,
    err: Vec<u8>,
}

impl Captured {
    pub fn io(&mut self) -> Io<'_> {
        Io {
            out: &mut self.out,
            err: &mut self.err,
        }
    }

    pub fn out(&self) -> String {
        String::from_utf8(self.out.clone()).expect("UTF-8 output")
    }

    pub fn err(&self) -> String {
        String::from_utf8(self.err.clone()).expect("UTF-8 messages")
    }
}

/// Runs `verb` on captured streams: its result, and what it printed.
pub fn captured<T>(verb: impl FnOnce(&mut Io) -> T) -> (T, Captured) {
    let mut c = Captured::default();
    let result = verb(&mut c.io());
    (result, c)
}

/// An output whose every write fails with this kind (`BrokenPipe`: its reader went away).
pub struct ClosedPipe(pub std::io::ErrorKind);

impl std::io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(self.0.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `verb` with a closed pipe as its output: its result after [`super::io::finish`], and
/// its messages.
pub fn with_closed_output(
    verb: impl FnOnce(&mut Io) -> latchkey::Result<()>,
) -> (latchkey::Result<()>, String) {
    let mut pipe = ClosedPipe(std::io::ErrorKind::BrokenPipe);
    let mut err = Vec::new();
    let result = verb(&mut Io {
        out: &mut pipe,
        err: &mut err,
    });
    (
        super::io::finish(result),
        String::from_utf8(err).expect("UTF-8 messages"),
    )
}
