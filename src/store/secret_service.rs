//! A keyring-core store for the freedesktop Secret Service (gnome-keyring, KeePassXC), on the
//! `secret-service` crate.
//!
//! Why not `zbus-secret-service-keyring-store`: it always negotiates a Diffie-Hellman session,
//! which costs about 5 ms per process here, most of a `latchkey token` run. The session bus is a
//! socket only this user's processes can open, and any of them may ask the Secret Service for
//! the secret directly, so transport encryption on it protects from no one who could read it;
//! a plain session is what the specification offers for that case. Items are written with the
//! same `service` / `username` attributes that store uses, so entries stay interchangeable and
//! `secret-tool lookup service latchkey username …` finds them.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use secret_service::EncryptionType;
use secret_service::blocking::{Item, SecretService};
use zbus::zvariant::OwnedObjectPath;

const CONTENT_TYPE: &str = "application/octet-stream";

type Connection = Arc<Mutex<SecretService<'static>>>;

/// Each entry's item as this process last found it unlocked, and when (see [`Store::writable`]
/// and [`Cred::set_in_place`]).
type Seen = Arc<Mutex<HashMap<(String, String), Found>>>;

struct Found {
    at: Instant,
    item: OwnedObjectPath,
}

/// How recently an entry must have been found unlocked for [`Store::writable`] to take that
/// as the answer: a refresh reads the entry, then asks with nothing waited for in between (a
/// slower path only falls back to asking the keychain).
const SEEN_UNLOCKED_FOR: Duration = Duration::from_millis(100);

/// How long a write may go straight to the item a read found, without searching again: longer
/// than a token request may take (a refresh reads its entry before the request and writes it
/// after). A write that fails there falls back to the search. It cannot land in another
/// program's item: while the service runs, a removed item's path is not given out again
/// (gnome-keyring numbers items upwards, KeePassXC by UUID), and a restarted service refuses
/// the write, which carries this connection's session (gnome-keyring looks sessions up by
/// their client).
const ITEM_KNOWN_FOR: Duration = Duration::from_secs(60);

pub struct Store {
    ss: Connection,
    seen: Seen,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretServiceStore")
    }
}

impl Store {
    pub fn new() -> Result<Arc<Self>> {
        let ss = SecretService::connect(EncryptionType::Plain).map_err(failure)?;
        Ok(Arc::new(Store {
            ss: Arc::new(Mutex::new(ss)),
            seen: Seen::default(),
        }))
    }

    /// Whether a write of `user`'s entry can succeed, as [`Store::unlock_default`] (waiting
    /// at most `wait`); an entry found unlocked moments ago answers without asking again, one
    /// D-Bus round trip of the few a refresh makes (its collection, where the write goes, was
    /// unlocked then: a refresh read it to get the refresh token).
    pub fn writable(&self, service: &str, user: &str, wait: Duration) -> Result<()> {
        if lock_seen(&self.seen)
            .get(&(service.to_string(), user.to_string()))
            .is_some_and(|found| found.at.elapsed() < SEEN_UNLOCKED_FOR)
        {
            return Ok(());
        }
        self.unlock_default(wait)
    }
}

fn lock_seen(seen: &Seen) -> std::sync::MutexGuard<'_, HashMap<(String, String), Found>> {
    // The map holds only hints: a poisoned one is as good as it was.
    seen.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// Waits until the default collection (alias `default`, where new items go) is unlocked,
    /// asking the Secret Service to unlock it (its own prompt, e.g. gnome-keyring's password
    /// dialog) when it is locked; gives up after `wait`. No default collection: nothing to do.
    pub fn unlock_default(&self, wait: Duration) -> Result<()> {
        let deadline = Instant::now() + wait;
        if !self.default_locked()? {
            return Ok(());
        }
        request_unlock();
        loop {
            std::thread::sleep(UNLOCK_POLL);
            if !self.default_locked()? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::NoStorageAccess(Box::new(
                    secret_service::Error::Locked,
                )));
            }
        }
    }

    fn default_locked(&self) -> Result<bool> {
        let ss = self
            .ss
            .lock()
            .map_err(|_| Error::PlatformFailure("keychain connection poisoned".into()))?;
        // One round trip: the alias's own object path, which gnome-keyring serves (libsecret
        // writes to it). A service without it, or without a default collection, answers with
        // an error, and the alias is looked up the long way: ReadAlias, then the collection's
        // property.
        if let Ok(path) = zbus::zvariant::OwnedObjectPath::try_from(DEFAULT_ALIAS_PATH)
            && let Ok(locked) = ss.get_collection_by_path(path).and_then(|c| c.is_locked())
        {
            return Ok(locked);
        }
        match ss.get_default_collection() {
            Ok(collection) => collection.is_locked().map_err(decode),
            Err(secret_service::Error::NoResult) => Ok(false),
            Err(e) => Err(decode(e)),
        }
    }
}

const UNLOCK_POLL: Duration = Duration::from_millis(200);

/// The object path of the collection aliased `default` (Secret Service API, "Aliases").
const DEFAULT_ALIAS_PATH: &str = "/org/freedesktop/secrets/aliases/default";

/// Asks for the default collection to be unlocked, on a connection and thread of its own: a
/// prompt may stay open for minutes, and neither the store's connection nor the caller waits
/// for it (they watch the collection's `Locked` property). One prompt at a time per process:
/// while one is open, asking again adds no second dialog; once it is answered or dismissed,
/// the next request opens a new one.
fn request_unlock() {
    static PROMPTING: AtomicBool = AtomicBool::new(false);
    if PROMPTING.swap(true, Ordering::AcqRel) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("latchkey-unlock".into())
        .spawn(|| {
            // A failed or dismissed prompt only means the collection stays locked, which the
            // caller sees.
            let _ = SecretService::connect(EncryptionType::Plain)
                .and_then(|ss| ss.get_default_collection()?.unlock());
            PROMPTING.store(false, Ordering::Release);
        });
    if spawned.is_err() {
        PROMPTING.store(false, Ordering::Release);
    }
}

impl CredentialStoreApi for Store {
    fn vendor(&self) -> String {
        "Latchkey Secret Service store".into()
    }

    fn id(&self) -> String {
        "latchkey-secret-service".into()
    }

    fn build(
        &self,
        service: &str,
        user: &str,
        _modifiers: Option<&HashMap<&str, &str>>,
    ) -> Result<Entry> {
        Ok(Entry::new_with_credential(Arc::new(Cred {
            ss: self.ss.clone(),
            seen: self.seen.clone(),
            service: service.to_string(),
            user: user.to_string(),
        })))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct Cred {
    ss: Connection,
    seen: Seen,
    service: String,
    user: String,
}

impl std::fmt::Debug for Cred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretServiceCred({}, {})", self.service, self.user)
    }
}

impl Cred {
    fn key(&self) -> (String, String) {
        (self.service.clone(), self.user.clone())
    }

    fn attributes(&self) -> HashMap<&str, &str> {
        HashMap::from([
            ("service", self.service.as_str()),
            ("username", self.user.as_str()),
        ])
    }

    /// Runs `f` on the one item with this credential's attributes (unlocking it if needed), or
    /// on `None` when there is none.
    fn with_item<T>(&self, f: impl FnOnce(&SecretService, Option<Item>) -> Result<T>) -> Result<T> {
        let ss = self
            .ss
            .lock()
            .map_err(|_| Error::PlatformFailure("keychain connection poisoned".into()))?;
        let found = ss.search_items(self.attributes()).map_err(decode)?;
        if !found.locked.is_empty() {
            let locked: Vec<&Item> = found.locked.iter().collect();
            ss.unlock_all(&locked).map_err(decode)?;
        }
        let count = found.unlocked.len() + found.locked.len();
        if count > 1 {
            return Err(Error::PlatformFailure(
                format!("{count} keychain items are named {:?}; remove the duplicates in your keyring app", self.user)
                    .into(),
            ));
        }
        let item = found.unlocked.into_iter().chain(found.locked).next();
        let path = item.as_ref().map(|i| i.item_path.clone());
        let out = f(&ss, item);
        // Marked only once the call on the item succeeded (its collection was unlocked then).
        let mut seen = lock_seen(&self.seen);
        match (&out, path) {
            (Ok(_), Some(item)) => seen.insert(
                self.key(),
                Found {
                    at: Instant::now(),
                    item,
                },
            ),
            _ => seen.remove(&self.key()),
        };
        out
    }

    /// Writes `secret` to the item found for this entry moments ago, skipping the search (a
    /// refresh stores its rotated token in the entry it read). False when there is no such item
    /// or the write there failed (removed, locked since): the caller searches as usual.
    fn set_in_place(&self, secret: &[u8]) -> bool {
        let known = lock_seen(&self.seen)
            .get(&self.key())
            .filter(|found| found.at.elapsed() < ITEM_KNOWN_FOR)
            .map(|found| found.item.clone());
        let Some(path) = known else {
            return false;
        };
        let Ok(ss) = self.ss.lock() else {
            return false;
        };
        let written = ss
            .get_item_by_path(path.clone())
            .and_then(|item| item.set_secret(secret, CONTENT_TYPE));
        drop(ss);
        let mut seen = lock_seen(&self.seen);
        match written {
            Ok(()) => {
                seen.insert(
                    self.key(),
                    Found {
                        at: Instant::now(),
                        item: path,
                    },
                );
                true
            }
            Err(_) => {
                seen.remove(&self.key());
                false
            }
        }
    }
}

impl CredentialApi for Cred {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        if self.set_in_place(secret) {
            return Ok(());
        }
        self.with_item(|ss, item| match item {
            Some(item) => item.set_secret(secret, CONTENT_TYPE).map_err(decode),
            None => {
                let collection = ss.get_default_collection().map_err(decode)?;
                collection.ensure_unlocked().map_err(decode)?;
                collection
                    .create_item(
                        &format!("Latchkey {}", self.user),
                        self.attributes(),
                        secret,
                        true,
                        CONTENT_TYPE,
                    )
                    .map(|_| ())
                    .map_err(decode)
            }
        })
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        self.with_item(|_, item| match item {
            Some(item) => item.get_secret().map_err(decode),
            None => Err(Error::NoEntry),
        })
    }

    fn delete_credential(&self) -> Result<()> {
        let deleted = self.with_item(|_, item| match item {
            Some(item) => item.delete().map_err(decode),
            None => Err(Error::NoEntry),
        });
        lock_seen(&self.seen).remove(&self.key());
        deleted
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        self.with_item(|_, item| match item {
            Some(_) => Ok(None),
            None => Err(Error::NoEntry),
        })
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some((self.service.clone(), self.user.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn decode(e: secret_service::Error) -> Error {
    match e {
        secret_service::Error::Locked
        | secret_service::Error::Prompt
        | secret_service::Error::PromptDisconnected => Error::NoStorageAccess(Box::new(e)),
        other => failure(other),
    }
}

fn failure(e: secret_service::Error) -> Error {
    Error::PlatformFailure(Box::new(e))
}
