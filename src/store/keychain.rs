//! The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager) through
//! `keyring-core`. Every call runs on a blocking thread with a timeout, so a locked or hung
//! keychain cannot hang the caller; there is no plaintext fallback.
//!
//! Entry layout: service `latchkey`, one entry per account (`ID/account:PROFILE/LABEL`, all its
//! tokens in one JSON value, so a token read is one keychain read) and one per client secret
//! (`ID/client-secret:PROFILE`), where `ID` is the config directory's own (a file in it,
//! created once): two config directories on one keychain never touch each other's entries. Where the platform caps entry size (Windows: 2,560 bytes), a value
//! is split into numbered chunk entries named by a generation, and the head entry, written last,
//! points at them: a reader sees the old value or the new one, never a mix.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::sync::OnceLock;

use keyring_core::{Entry, Error as KError};

use crate::model::notice::Notice;

pub const SERVICE: &str = "latchkey";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// Seconds to wait for the keychain instead of [`DEFAULT_TIMEOUT`] (e.g. for a slow unlock prompt).
pub const TIMEOUT_ENV: &str = "LATCHKEY_KEYCHAIN_TIMEOUT";
/// How long tokens a provider has issued are retried when the keychain refuses them.
pub const DEFAULT_KEEP_TRYING: Duration = Duration::from_secs(300);
/// Seconds to keep trying instead of [`DEFAULT_KEEP_TRYING`] (0 to 86,400; tests shorten it).
pub const KEEP_TRYING_ENV: &str = "LATCHKEY_KEEP_TRYING_SECONDS";
/// A notice while retrying at most this often (the first one at once).
const NOTICE_EVERY: Duration = Duration::from_secs(30);
/// At least this long between two tries of the same write.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Bytes per entry where the platform has a small cap; `usize::MAX` elsewhere.
#[cfg(windows)]
pub const PLATFORM_CHUNK: usize = 2048;
#[cfg(not(windows))]
pub const PLATFORM_CHUNK: usize = usize::MAX;

const WHOLE: u8 = b'=';
const CHUNKED: u8 = b'#';

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeychainError {
    #[error(
        "the OS keychain is not available ({0}). Latchkey keeps secrets only in the keychain: on Linux, run a Secret Service provider (gnome-keyring, KeePassXC) in your session"
    )]
    Unavailable(String),
    #[error(
        "the OS keychain is locked; unlock it (log in to your desktop session or open your keyring app) and try again"
    )]
    Locked,
    #[error(
        "the OS keychain did not answer within {0} s; it may be waiting for an unlock prompt, so unlock it and try again"
    )]
    Timeout(u64),
    #[error("the OS keychain failed: {0}")]
    Failed(String),
    #[error("the keychain entry `{0}` is damaged ({1}); sign in again to replace it")]
    Corrupt(String, String),
    #[error(
        "the OS keychain did not take the tokens the provider issued for `{account}` in {seconds} s of trying ({cause}). The provider has already issued them and Latchkey keeps them nowhere else, so the grant is lost"
    )]
    GrantLost {
        account: String,
        profile: String,
        seconds: u64,
        cause: String,
    },
}

impl KeychainError {
    /// What the user can do about it (see [`crate::Error::hint`]).
    pub fn hint(&self) -> Option<crate::model::hint::Hint> {
        use crate::model::hint::Hint;
        match self {
            KeychainError::Locked | KeychainError::Timeout(_) => Some(Hint::UnlockKeychain),
            KeychainError::GrantLost { profile, .. } => Some(Hint::ReplaceLostGrant {
                profile: profile.clone(),
            }),
            _ => None,
        }
    }
}

/// Whose tokens [`Keychain::store_issued`] keeps: for the notices and the final error.
#[derive(Debug, Clone, Copy)]
pub struct Issued<'a> {
    pub account: &'a str,
    pub profile: &'a str,
    /// Whether the tokens include a refresh token.
    pub refresh_token: bool,
}

#[derive(Debug, Clone)]
pub struct Keychain {
    timeout: Duration,
    chunk: usize,
    keep_trying: Duration,
    store: Backend,
    scope: Scope,
}

/// Which keychain entries are one config directory's: those named under `id`. `legacy`: the
/// directory predates namespaces, and entries of the old layout (named by profile alone) are
/// taken over on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeychainNamespace {
    pub id: String,
    pub legacy: bool,
}

/// Where a keychain's namespace comes from (a config directory: see
/// `Keychain::for_config`), asked on first use.
pub trait NamespaceSource: std::fmt::Debug + Send + Sync {
    fn namespace(&self) -> Result<KeychainNamespace, String>;
}

/// Whose entries: every key is named under a namespace; `None`: keys as given (tests of the
/// keychain itself).
#[derive(Debug, Clone, Default)]
struct Scope(Option<Arc<ScopeOf>>);

#[derive(Debug)]
struct ScopeOf {
    source: Box<dyn NamespaceSource>,
    namespace: OnceLock<KeychainNamespace>,
}

impl ScopeOf {
    fn resolve(&self) -> Result<&KeychainNamespace, KeychainError> {
        if let Some(n) = self.namespace.get() {
            return Ok(n);
        }
        let n = self.source.namespace().map_err(|e| {
            KeychainError::Failed(format!("cannot read the keychain namespace: {e}"))
        })?;
        Ok(self.namespace.get_or_init(|| n))
    }
}

/// A key's entry names: its own, and the old layout's while that may still be migrated.
struct Names {
    key: String,
    legacy: Option<String>,
}

/// Where entries live: keyring-core's default store (the platform's, registered on first use),
/// or a store of the caller's own (tests: `keyring_core::mock::Store`), which leaves the
/// process-wide default alone so that tests can run in parallel.
#[derive(Clone, Default)]
struct Backend(Option<Arc<keyring_core::CredentialStore>>);

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "own store"
        } else {
            "default store"
        })
    }
}

impl Backend {
    fn entry(&self, key: &str) -> Result<Entry, KeychainError> {
        match &self.0 {
            Some(store) => store.build(SERVICE, key, None),
            None => Entry::new(SERVICE, key),
        }
        .map_err(map_error)
    }
}

impl Default for Keychain {
    /// The platform's layout, the timeout from `LATCHKEY_KEYCHAIN_TIMEOUT` (1 to 600 s) or
    /// [`DEFAULT_TIMEOUT`], and the retry time from `LATCHKEY_KEEP_TRYING_SECONDS` or
    /// [`DEFAULT_KEEP_TRYING`]; values out of range are ignored.
    fn default() -> Self {
        let seconds = |name: &str, range: std::ops::RangeInclusive<u64>| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|s| range.contains(s))
                .map(Duration::from_secs)
        };
        Keychain {
            timeout: seconds(TIMEOUT_ENV, 1..=600).unwrap_or(DEFAULT_TIMEOUT),
            chunk: PLATFORM_CHUNK,
            keep_trying: seconds(KEEP_TRYING_ENV, 0..=86_400).unwrap_or(DEFAULT_KEEP_TRYING),
            store: Backend::default(),
            scope: Scope::default(),
        }
    }
}

impl Keychain {
    /// A keychain that splits values larger than `chunk` bytes (tests of the chunked layout).
    pub fn with_chunk_size(chunk: usize) -> Self {
        Keychain {
            chunk: chunk.max(16),
            ..Keychain::default()
        }
    }

    /// A keychain on `store` instead of the platform's (tests: keyring-core's mock store).
    pub fn with_store(mut self, store: Arc<keyring_core::CredentialStore>) -> Self {
        self.store = Backend(Some(store));
        self
    }

    /// This keychain with every entry named under the namespace `source` gives (`known`: the
    /// namespace, when already read), so that another namespace's entries are never read or
    /// deleted. Entries of the old layout (named by key alone) move into the namespace when
    /// first read, while its migration is pending.
    pub fn with_namespace(
        mut self,
        source: impl NamespaceSource + 'static,
        known: Option<KeychainNamespace>,
    ) -> Self {
        let namespace = OnceLock::new();
        if let Some(n) = known {
            let _ = namespace.set(n);
        }
        self.scope = Scope(Some(Arc::new(ScopeOf {
            source: Box::new(source),
            namespace,
        })));
        self
    }

    /// The namespace entries are named under (`None`: keys as given).
    pub fn namespace(&self) -> Result<Option<KeychainNamespace>, KeychainError> {
        match &self.scope.0 {
            Some(scope) => Ok(Some(scope.resolve()?.clone())),
            None => Ok(None),
        }
    }

    /// The entry names of `key` in this keychain's scope.
    fn names(&self, key: &str) -> Result<Names, KeychainError> {
        let Some(scope) = &self.scope.0 else {
            return Ok(Names {
                key: key.to_string(),
                legacy: None,
            });
        };
        let namespace = scope.resolve()?;
        Ok(Names {
            key: format!("{}/{key}", namespace.id),
            legacy: namespace.legacy.then(|| key.to_string()),
        })
    }

    /// How long each call may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long [`Keychain::store_issued`] keeps trying.
    pub fn with_keep_trying(mut self, keep_trying: Duration) -> Self {
        self.keep_trying = keep_trying;
        self
    }

    /// Makes sure a write can succeed before something irreplaceable is spent (a refresh token
    /// sent, an authorization code exchanged). On the Secret Service a locked default
    /// collection is asked to unlock (the platform's prompt, where there is one) and waited
    /// for within the keychain timeout; still locked, this is [`KeychainError::Locked`]. Other
    /// platforms' keychains prompt on access, and this does nothing there.
    pub async fn ensure_writable(&self) -> Result<(), KeychainError> {
        self.unlock_within(self.timeout, None).await
    }

    /// [`Keychain::ensure_writable`] before a write to `key`, which was just read: the entry
    /// found unlocked by that read answers without asking the keychain again (the write
    /// replaces that item in place: the Secret Service has no size cap, so no chunks).
    pub async fn ensure_writable_for(&self, key: &str) -> Result<(), KeychainError> {
        let entry = self.names(key)?.key;
        self.unlock_within(self.timeout, Some(entry)).await
    }

    /// Waits for an unlock at most `wait` (and less than the timeout, so a locked keychain is
    /// reported as locked, not as silent); not at all when `entry` was found unlocked moments
    /// ago.
    async fn unlock_within(
        &self,
        wait: Duration,
        entry: Option<String>,
    ) -> Result<(), KeychainError> {
        if self.store.0.is_some() {
            return Ok(());
        }
        let wait = wait.min(self.timeout.saturating_sub(self.timeout / 4));
        self.blocking(move |_| platform_unlock(wait, entry.as_deref()))
            .await
    }

    /// Stores tokens a provider has just issued, which exist nowhere else: when the keychain
    /// refuses (locked, an unanswered prompt, a timeout), keeps asking for an unlock and trying
    /// again for the keep-trying time, sending `notify` a notice at once and every 30 s. Only
    /// then it gives up, with [`KeychainError::GrantLost`].
    ///
    /// `hold` (the account's lock) is kept by every write until its thread has really ended:
    /// a write that timed out may still complete later, and while it can, no other writer of
    /// the account may start, so it can never overwrite a newer token set.
    pub async fn store_issued<H: Send + Sync + 'static>(
        &self,
        key: &str,
        value: Vec<u8>,
        hold: &Arc<H>,
        issued: Issued<'_>,
        notify: &(dyn Fn(&Notice) + Sync),
    ) -> Result<(), KeychainError> {
        let started = Instant::now();
        let mut noticed: Option<Instant> = None;
        loop {
            let next_try = Instant::now() + RETRY_PAUSE;
            let cause = match self.set_holding(key, value.clone(), hold).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let Some(remaining) = self.keep_trying.checked_sub(started.elapsed()) else {
                return Err(KeychainError::GrantLost {
                    account: issued.account.to_string(),
                    profile: issued.profile.to_string(),
                    seconds: self.keep_trying.as_secs(),
                    cause: cause.to_string(),
                });
            };
            if noticed.is_none_or(|t| t.elapsed() >= NOTICE_EVERY) {
                noticed = Some(Instant::now());
                notify(&Notice::KeychainRefusesIssuedTokens {
                    account: issued.account.to_string(),
                    refresh_token: issued.refresh_token,
                    remaining,
                    cause: cause.to_string(),
                });
            }
            // Still locked after the wait is what the next try reports.
            let _ = self.unlock_within(remaining, None).await;
            tokio::time::sleep_until(next_try.into()).await;
        }
    }

    /// [`Keychain::set`], keeping `hold` until the write's thread ends (see
    /// [`Keychain::store_issued`]).
    pub async fn set_holding<H: Send + Sync + 'static>(
        &self,
        key: &str,
        value: Vec<u8>,
        hold: &Arc<H>,
    ) -> Result<(), KeychainError> {
        let key = self.names(key)?.key;
        let chunk = self.chunk;
        let hold = Arc::clone(hold);
        self.blocking(move |store| {
            let _hold = hold;
            set_value(store, &key, &value, chunk)
        })
        .await
    }

    /// The value of `key`; while a migration is pending, an entry of the old layout is moved
    /// into the namespace first (written there, then deleted).
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KeychainError> {
        let names = self.names(key)?;
        let chunk = self.chunk;
        self.blocking(move |store| {
            if let Some(value) = get_value(store, &names.key)? {
                return Ok(Some(value));
            }
            let Some(legacy) = &names.legacy else {
                return Ok(None);
            };
            let Some(value) = get_value(store, legacy)? else {
                return Ok(None);
            };
            set_value(store, &names.key, &value, chunk)?;
            delete_value(store, legacy)?;
            Ok(Some(value))
        })
        .await
    }

    /// Looks `key`'s entry up ahead of its read, where the platform gains by it (the Secret
    /// Service: connecting, a session and a search, a few milliseconds), so that the read
    /// moments later is one call. Returns at once, with the lookup's task (callers need not
    /// wait for it: the read waits for the same connection); reads nothing; any error is the
    /// read's.
    pub fn locate(&self, key: &str) -> Option<tokio::task::JoinHandle<()>> {
        if cfg!(not(target_os = "linux")) || self.store.0.is_some() {
            return None;
        }
        let names = self.names(key).ok()?;
        // Outside a runtime (a blocking caller) there is nothing to do it beside.
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(runtime.spawn_blocking(move || {
            if ensure_store().is_ok() {
                platform_locate(&names.key);
            }
        }))
    }

    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), KeychainError> {
        self.set_holding(key, value, &Arc::new(())).await
    }

    /// Deletes an entry and its chunks; a missing entry is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), KeychainError> {
        let names = self.names(key)?;
        self.blocking(move |store| {
            delete_value(store, &names.key)?;
            match &names.legacy {
                Some(legacy) => delete_value(store, legacy),
                None => Ok(()),
            }
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Backend) -> Result<T, KeychainError> + Send + 'static,
    ) -> Result<T, KeychainError> {
        let store = self.store.clone();
        let task = tokio::task::spawn_blocking(move || {
            if store.0.is_none() {
                ensure_store()?;
            }
            work(&store)
        });
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(KeychainError::Failed(format!(
                "keychain task failed: {join}"
            ))),
            Err(_) => Err(KeychainError::Timeout(self.timeout.as_secs())),
        }
    }
}

/// Connects to the platform's keychain on a thread of its own, for a command that is about to
/// read it: the connection (most of a millisecond to the Secret Service) then overlaps the
/// command's start. Reads nothing; a failure is left to the first call, which meets it again.
pub fn connect_ahead() {
    if cfg!(target_os = "linux") {
        let _ = std::thread::Builder::new()
            .name("latchkey-keychain".into())
            .spawn(|| {
                let _ = ensure_store();
            });
    }
}

/// keyring-core has no store until one is registered; register the platform's once. A failure
/// is not remembered: the desktop app runs for days, and the keychain may start after it.
fn ensure_store() -> Result<(), KeychainError> {
    static READY: AtomicBool = AtomicBool::new(false);
    // One at a time: calls made together (a lookup ahead of a read) share one connection.
    static REGISTERING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if READY.load(Ordering::Acquire) {
        return Ok(());
    }
    let _one = REGISTERING.lock().unwrap_or_else(|e| e.into_inner());
    if READY.load(Ordering::Acquire) {
        return Ok(());
    }
    let store = platform_store().map_err(|e| match map_error(e) {
        KeychainError::Failed(detail) => KeychainError::Unavailable(detail),
        other => other,
    })?;
    keyring_core::set_default_store(store);
    READY.store(true, Ordering::Release);
    Ok(())
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(crate::store::secret_service::Store::new()?)
}

/// Unlocks the Secret Service's default collection, waiting at most `wait`, unless `entry` was
/// found unlocked moments ago (a store other than Latchkey's own, e.g. in a test, is left
/// alone).
#[cfg(target_os = "linux")]
fn platform_unlock(wait: Duration, entry: Option<&str>) -> Result<(), KeychainError> {
    let Some(store) = keyring_core::get_default_store() else {
        return Ok(());
    };
    let Some(store) = store
        .as_any()
        .downcast_ref::<crate::store::secret_service::Store>()
    else {
        return Ok(());
    };
    match entry {
        Some(user) => store.writable(SERVICE, user, wait),
        None => store.unlock_default(wait),
    }
    .map_err(map_error)
}

/// [`Keychain::locate`] on the Secret Service (Latchkey's own store only).
#[cfg(target_os = "linux")]
fn platform_locate(entry: &str) {
    if let Some(store) = keyring_core::get_default_store()
        && let Some(store) = store
            .as_any()
            .downcast_ref::<crate::store::secret_service::Store>()
    {
        store.locate(SERVICE, entry);
    }
}

/// Other platforms' keychains find an entry in the same call that reads it.
#[cfg(not(target_os = "linux"))]
fn platform_locate(_entry: &str) {}

/// macOS and Windows ask for an unlock themselves when an entry is accessed.
#[cfg(not(target_os = "linux"))]
fn platform_unlock(_wait: Duration, _entry: Option<&str>) -> Result<(), KeychainError> {
    Ok(())
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Err(KError::NotSupportedByStore(
        "no keychain backend for this platform".into(),
    ))
}

fn read(store: &Backend, key: &str) -> Result<Option<Vec<u8>>, KeychainError> {
    match store.entry(key)?.get_secret() {
        Ok(bytes) => Ok(Some(bytes)),
        Err(KError::NoEntry) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}

fn write(store: &Backend, key: &str, bytes: &[u8]) -> Result<(), KeychainError> {
    store.entry(key)?.set_secret(bytes).map_err(map_error)
}

fn remove(store: &Backend, key: &str) -> Result<(), KeychainError> {
    match store.entry(key)?.delete_credential() {
        Ok(()) | Err(KError::NoEntry) => Ok(()),
        Err(e) => Err(map_error(e)),
    }
}

fn chunk_key(key: &str, generation: &str, index: usize) -> String {
    format!("{key}#{generation}.{index}")
}

/// Parses a chunked head: `#<count> <generation>`.
fn parse_head(key: &str, head: &[u8]) -> Result<(usize, String), KeychainError> {
    let corrupt = || KeychainError::Corrupt(key.to_string(), "bad chunk header".into());
    let text = std::str::from_utf8(head).map_err(|_| corrupt())?;
    let (count, generation) = text.split_once(' ').ok_or_else(corrupt)?;
    Ok((
        count.parse().map_err(|_| corrupt())?,
        generation.to_string(),
    ))
}

fn get_value(store: &Backend, key: &str) -> Result<Option<Vec<u8>>, KeychainError> {
    let Some(head) = read(store, key)? else {
        return Ok(None);
    };
    match head.split_first() {
        Some((&WHOLE, value)) => Ok(Some(value.to_vec())),
        Some((&CHUNKED, rest)) => {
            let (count, generation) = parse_head(key, rest)?;
            let mut value = Vec::new();
            for i in 0..count {
                let part = read(store, &chunk_key(key, &generation, i))?.ok_or_else(|| {
                    KeychainError::Corrupt(key.to_string(), format!("chunk {i} is missing"))
                })?;
                value.extend_from_slice(&part);
            }
            Ok(Some(value))
        }
        _ => Err(KeychainError::Corrupt(
            key.to_string(),
            "unknown format".into(),
        )),
    }
}

fn old_chunks(store: &Backend, key: &str) -> Result<Option<(usize, String)>, KeychainError> {
    match read(store, key) {
        Ok(Some(head)) if head.first() == Some(&CHUNKED) => parse_head(key, &head[1..]).map(Some),
        Ok(_) => Ok(None),
        // A damaged old value must not block writing a new one.
        Err(KeychainError::Corrupt(..)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn set_value(store: &Backend, key: &str, value: &[u8], chunk: usize) -> Result<(), KeychainError> {
    // Only a platform (or test) with a size cap can have chunks to clean up: skip the extra read
    // everywhere else.
    let previous = if chunk == usize::MAX {
        None
    } else {
        old_chunks(store, key)?
    };
    if value.len() < chunk {
        let mut whole = Vec::with_capacity(value.len() + 1);
        whole.push(WHOLE);
        whole.extend_from_slice(value);
        write(store, key, &whole)?;
    } else {
        let generation = format!("{:08x}", rand::random::<u32>());
        let parts: Vec<&[u8]> = value.chunks(chunk).collect();
        for (i, part) in parts.iter().enumerate() {
            write(store, &chunk_key(key, &generation, i), part)?;
        }
        write(
            store,
            key,
            format!("#{} {generation}", parts.len()).as_bytes(),
        )?;
    }
    if let Some((count, generation)) = previous {
        for i in 0..count {
            remove(store, &chunk_key(key, &generation, i))?;
        }
    }
    Ok(())
}

fn delete_value(store: &Backend, key: &str) -> Result<(), KeychainError> {
    if let Some((count, generation)) = old_chunks(store, key)? {
        for i in 0..count {
            remove(store, &chunk_key(key, &generation, i))?;
        }
    }
    remove(store, key)
}

/// Maps keyring errors to what a user can act on. Some keyring variants carry the secret's
/// bytes; none of them is passed on.
fn map_error(e: KError) -> KeychainError {
    match e {
        KError::NoStorageAccess(_) => KeychainError::Locked,
        KError::NoDefaultStore => KeychainError::Unavailable("no keychain backend".into()),
        KError::PlatformFailure(inner) => {
            let text = inner.to_string();
            let missing = [
                "ServiceUnknown",
                "NotFound",
                "No such file",
                "DBUS_SESSION_BUS_ADDRESS",
                "Connection refused",
                "was not provided by any .service files",
            ];
            if missing.iter().any(|m| text.contains(m)) {
                KeychainError::Unavailable(text)
            } else if text.contains("ocked") || text.contains("prompt") {
                KeychainError::Locked
            } else {
                KeychainError::Failed(text)
            }
        }
        KError::BadEncoding(_) | KError::BadDataFormat(..) => {
            KeychainError::Failed("the stored value has an unexpected format".into())
        }
        KError::TooLong(what, limit) => KeychainError::Failed(format!(
            "{what} is longer than the keychain allows ({limit})"
        )),
        KError::Ambiguous(items) => KeychainError::Failed(format!(
            "{} keychain entries match one name; remove the duplicates in your keyring app",
            items.len()
        )),
        other => KeychainError::Failed(other.to_string()),
    }
}
