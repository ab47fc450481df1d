//! The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager) through
//! `keyring-core`. Every call runs on a blocking thread with a timeout, so a locked or hung
//! keychain cannot hang the caller; there is no plaintext fallback.
//!
//! Entry layout: service `latchkey`, one entry per account (`account:PROFILE/LABEL`, all its
//! tokens in one JSON value, so a token read is one keychain read) and one per client secret
//! (`client-secret:PROFILE`). Where the platform caps entry size (Windows: 2,560 bytes), a value
//! is split into numbered chunk entries named by a generation, and the head entry, written last,
//! points at them: a reader sees the old value or the new one, never a mix.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keyring_core::{Entry, Error as KError};

pub const SERVICE: &str = "latchkey";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// Seconds to wait for the keychain instead of [`DEFAULT_TIMEOUT`] (e.g. for a slow unlock prompt).
pub const TIMEOUT_ENV: &str = "LATCHKEY_KEYCHAIN_TIMEOUT";

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
}

#[derive(Debug, Clone)]
pub struct Keychain {
    timeout: Duration,
    chunk: usize,
}

impl Default for Keychain {
    /// The platform's layout, and the timeout from `LATCHKEY_KEYCHAIN_TIMEOUT` (1 to 600 s;
    /// anything else is ignored) or [`DEFAULT_TIMEOUT`].
    fn default() -> Self {
        let timeout = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| (1..=600).contains(s))
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        Keychain {
            timeout,
            chunk: PLATFORM_CHUNK,
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

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KeychainError> {
        let key = key.to_string();
        self.blocking(move || get_value(&key)).await
    }

    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), KeychainError> {
        let key = key.to_string();
        let chunk = self.chunk;
        self.blocking(move || set_value(&key, &value, chunk)).await
    }

    /// Deletes an entry and its chunks; a missing entry is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), KeychainError> {
        let key = key.to_string();
        self.blocking(move || delete_value(&key)).await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
    ) -> Result<T, KeychainError> {
        let task = tokio::task::spawn_blocking(move || {
            ensure_store()?;
            work()
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

/// keyring-core has no store until one is registered; register the platform's once. A failure
/// is not remembered: the desktop app runs for days, and the keychain may start after it.
fn ensure_store() -> Result<(), KeychainError> {
    static READY: AtomicBool = AtomicBool::new(false);
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
    Ok(crate::secret_service::Store::new()?)
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

fn entry(key: &str) -> Result<Entry, KeychainError> {
    Entry::new(SERVICE, key).map_err(map_error)
}

fn read(key: &str) -> Result<Option<Vec<u8>>, KeychainError> {
    match entry(key)?.get_secret() {
        Ok(bytes) => Ok(Some(bytes)),
        Err(KError::NoEntry) => Ok(None),
        Err(e) => Err(map_error(e)),
    }
}

fn write(key: &str, bytes: &[u8]) -> Result<(), KeychainError> {
    entry(key)?.set_secret(bytes).map_err(map_error)
}

fn remove(key: &str) -> Result<(), KeychainError> {
    match entry(key)?.delete_credential() {
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

fn get_value(key: &str) -> Result<Option<Vec<u8>>, KeychainError> {
    let Some(head) = read(key)? else {
        return Ok(None);
    };
    match head.split_first() {
        Some((&WHOLE, value)) => Ok(Some(value.to_vec())),
        Some((&CHUNKED, rest)) => {
            let (count, generation) = parse_head(key, rest)?;
            let mut value = Vec::new();
            for i in 0..count {
                let part = read(&chunk_key(key, &generation, i))?.ok_or_else(|| {
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

fn old_chunks(key: &str) -> Result<Option<(usize, String)>, KeychainError> {
    match read(key) {
        Ok(Some(head)) if head.first() == Some(&CHUNKED) => parse_head(key, &head[1..]).map(Some),
        Ok(_) => Ok(None),
        // A damaged old value must not block writing a new one.
        Err(KeychainError::Corrupt(..)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn set_value(key: &str, value: &[u8], chunk: usize) -> Result<(), KeychainError> {
    // Only a platform (or test) with a size cap can have chunks to clean up: skip the extra read
    // everywhere else.
    let previous = if chunk == usize::MAX {
        None
    } else {
        old_chunks(key)?
    };
    if value.len() < chunk {
        let mut whole = Vec::with_capacity(value.len() + 1);
        whole.push(WHOLE);
        whole.extend_from_slice(value);
        write(key, &whole)?;
    } else {
        let generation = format!("{:08x}", rand::random::<u32>());
        let parts: Vec<&[u8]> = value.chunks(chunk).collect();
        for (i, part) in parts.iter().enumerate() {
            write(&chunk_key(key, &generation, i), part)?;
        }
        write(key, format!("#{} {generation}", parts.len()).as_bytes())?;
    }
    if let Some((count, generation)) = previous {
        for i in 0..count {
            remove(&chunk_key(key, &generation, i))?;
        }
    }
    Ok(())
}

fn delete_value(key: &str) -> Result<(), KeychainError> {
    if let Some((count, generation)) = old_chunks(key)? {
        for i in 0..count {
            remove(&chunk_key(key, &generation, i))?;
        }
    }
    remove(key)
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
