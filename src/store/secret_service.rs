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

use async_io::block_on;
use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use secret_service::{EncryptionType, Item, SecretService};
use zbus::zvariant::OwnedObjectPath;

const CONTENT_TYPE: &str = "application/octet-stream";

type Connection = Arc<Mutex<Service>>;

/// The session bus, and the Secret Service session on it once one is open. The calls are the
/// crate's async ones, each run to its end where it is made (the store's API is blocking),
/// so that the first search can go out beside the session's opening: a read then makes one
/// round trip fewer.
struct Service {
    bus: zbus::Connection,
    ss: Option<SecretService<'static>>,
}

impl Service {
    /// The crate's service on this bus, opening its session.
    fn opening(
        &self,
    ) -> impl Future<Output = std::result::Result<SecretService<'static>, secret_service::Error>>
    {
        SecretService::connect_with_existing(EncryptionType::Plain, self.bus.clone())
    }

    /// The service, its session opened first if none is.
    fn open(&mut self) -> Result<&SecretService<'static>> {
        if self.ss.is_none() {
            self.ss = Some(block_on(self.opening()).map_err(failure)?);
        }
        self.ss
            .as_ref()
            .ok_or_else(|| Error::PlatformFailure("no Secret Service session".into()))
    }

    /// The items named by `attributes`, unlocked and locked. The first search opens the
    /// session at the same time.
    fn search(&mut self, attributes: &HashMap<&str, &str>) -> Result<SearchAnswer> {
        let search = searching(self.bus.clone(), attributes);
        if self.ss.is_some() {
            return block_on(search).map_err(|e| decode(e.into()));
        }
        let (opened, found) = block_on(futures_util::future::join(self.opening(), search));
        self.ss = Some(opened.map_err(failure)?);
        found.map_err(|e| decode(e.into()))
    }
}

/// A search's answer: the object paths of the unlocked items, then of the locked ones.
type SearchAnswer = (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>);

/// `SearchItems` (Secret Service API), the same method and answer as the crate's. By hand on
/// the bus because the crate's search waits for its session, and a search needs none: sent
/// beside the session's opening, or beside a read that it confirms.
async fn searching(
    bus: zbus::Connection,
    attributes: &HashMap<&str, &str>,
) -> zbus::Result<SearchAnswer> {
    let reply = bus
        .call_method(
            Some("org.freedesktop.secrets"),
            "/org/freedesktop/secrets",
            Some("org.freedesktop.Secret.Service"),
            "SearchItems",
            &(attributes,),
        )
        .await?;
    reply.body().deserialize::<SearchAnswer>()
}

/// Whether `e` says the service does not know this connection's session: it restarted since
/// the session was opened (gnome-keyring is started again by D-Bus on the next call).
fn session_gone(e: &Error) -> bool {
    matches!(e, Error::PlatformFailure(inner)
        if inner.to_string().contains("org.freedesktop.Secret.Error.NoSession"))
}

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

/// How long after a search found an entry's item a read or a write may go straight to it:
/// longer than a token request may take (a refresh reads its entry before the request and
/// writes it after). A read is still checked by a search sent beside it (one round trip), and
/// taken only if that search names the same item alone. A write is not (it cannot be undone),
/// and relies on paths not being given out again while the service runs (gnome-keyring
/// numbers items upwards, KeePassXC by UUID) and on a restarted service refusing the old
/// session; the one way around that is a keyring file rewritten under the running daemon in
/// the seconds of a refresh, which it then reloads. Either falls back to the search when the
/// call there fails.
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
        // Only the bus: the session is opened with the first call (see `Service::search`).
        // No bus is "unavailable", as the crate says it (its `handle_conn_error`).
        let bus = zbus::blocking::Connection::session()
            .map_err(|e| {
                failure(match e {
                    zbus::Error::InterfaceNotFound | zbus::Error::Address(_) => {
                        secret_service::Error::Unavailable
                    }
                    zbus::Error::InputOutput(io) if io.kind() == std::io::ErrorKind::NotFound => {
                        secret_service::Error::Unavailable
                    }
                    e => e.into(),
                })
            })?
            .into_inner();
        Ok(Arc::new(Store {
            ss: Arc::new(Mutex::new(Service { bus, ss: None })),
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

impl Store {
    /// Searches `user`'s entry and remembers its item, so that a read moments later is one
    /// call on it (see [`Cred::get_in_place`]): a refresh looks its entry up while it waits
    /// for the account's lock. Reads no secret, unlocks nothing, and reports nothing: the read
    /// that follows meets any error itself.
    pub fn locate(&self, service_name: &str, user: &str) {
        let key = (service_name.to_string(), user.to_string());
        if known(&self.seen, &key).is_some() {
            return;
        }
        let Ok(mut service) = self.ss.lock() else {
            return;
        };
        let attributes = HashMap::from([("service", service_name), ("username", user)]);
        if let Ok((unlocked, locked)) = service.search(&attributes)
            && let ([item], []) = (unlocked.as_slice(), locked.as_slice())
        {
            lock_seen(&self.seen).insert(
                key,
                Found {
                    at: Instant::now(),
                    item: item.clone(),
                },
            );
        }
    }
}

/// The item found for `key` by a search less than [`ITEM_KNOWN_FOR`] ago.
fn known(seen: &Seen, key: &(String, String)) -> Option<OwnedObjectPath> {
    lock_seen(seen)
        .get(key)
        .filter(|found| found.at.elapsed() < ITEM_KNOWN_FOR)
        .map(|found| found.item.clone())
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
        let mut service = self
            .ss
            .lock()
            .map_err(|_| Error::PlatformFailure("keychain connection poisoned".into()))?;
        let ss = service.open()?;
        // One round trip: the alias's own object path, which gnome-keyring serves (libsecret
        // writes to it). A service without it, or without a default collection, answers with
        // an error, and the alias is looked up the long way: ReadAlias, then the collection's
        // property.
        if let Ok(path) = zbus::zvariant::OwnedObjectPath::try_from(DEFAULT_ALIAS_PATH)
            && let Ok(locked) =
                block_on(async { ss.get_collection_by_path(path).await?.is_locked().await })
        {
            return Ok(locked);
        }
        match block_on(ss.get_default_collection()) {
            Ok(collection) => block_on(collection.is_locked()).map_err(decode),
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
            let _ = block_on(async {
                let ss = SecretService::connect(EncryptionType::Plain).await?;
                ss.get_default_collection().await?.unlock().await
            });
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
        let mut service = self
            .ss
            .lock()
            .map_err(|_| Error::PlatformFailure("keychain connection poisoned".into()))?;
        let (unlocked, locked) = service.search(&self.attributes())?;
        let ss = service.open()?;
        if !locked.is_empty() {
            let items = locked
                .iter()
                .map(|path| block_on(ss.get_item_by_path(path.clone())))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(decode)?;
            block_on(ss.unlock_all(&items.iter().collect::<Vec<_>>())).map_err(decode)?;
        }
        let count = unlocked.len() + locked.len();
        if count > 1 {
            return Err(Error::PlatformFailure(
                format!("{count} keychain items are named {:?}; remove the duplicates in your keyring app", self.user)
                    .into(),
            ));
        }
        let path = unlocked.into_iter().chain(locked).next();
        let item = match &path {
            Some(path) => Some(block_on(ss.get_item_by_path(path.clone())).map_err(decode)?),
            None => None,
        };
        let out = f(ss, item);
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
    /// or the write there failed (removed, locked since): the caller searches as usual. The
    /// item's time stays its search's: a write confirms nothing about whose item it is.
    fn set_in_place(&self, secret: &[u8]) -> bool {
        let Some(path) = known(&self.seen, &self.key()) else {
            return false;
        };
        let Ok(mut service) = self.ss.lock() else {
            return false;
        };
        let written = service.open().ok().map(|ss| {
            block_on(async {
                ss.get_item_by_path(path)
                    .await?
                    .set_secret(secret, CONTENT_TYPE)
                    .await
            })
        });
        drop(service);
        let written = matches!(written, Some(Ok(())));
        if !written {
            lock_seen(&self.seen).remove(&self.key());
        }
        written
    }

    /// The secret of the item found for this entry moments ago (by [`Store::locate`] or an
    /// earlier call), read beside a search that must still name that item alone: one round
    /// trip. `None` when there is no such item, or the search names others (the item removed,
    /// renamed, or joined by a duplicate since): the caller searches as usual.
    fn get_in_place(&self) -> Option<Result<Vec<u8>>> {
        // The connection first: a lookup under way (`Store::locate`) holds it until it has
        // found the item.
        let mut service = self.ss.lock().ok()?;
        let path = known(&self.seen, &self.key())?;
        let attributes = self.attributes();
        let bus = service.bus.clone();
        let ss = service.open().ok()?;
        let (found, secret) = block_on(futures_util::future::join(
            searching(bus, &attributes),
            async { ss.get_item_by_path(path.clone()).await?.get_secret().await },
        ));
        drop(service);
        let confirmed = matches!(&found, Ok((unlocked, locked))
            if unlocked.as_slice() == std::slice::from_ref(&path) && locked.is_empty());
        let mut seen = lock_seen(&self.seen);
        if !confirmed {
            seen.remove(&self.key());
            return None;
        }
        seen.insert(
            self.key(),
            Found {
                at: Instant::now(),
                item: path,
            },
        );
        Some(secret.map_err(decode))
    }

    /// `op`, and once more on a new session when the service no longer knew this one.
    fn with_session<T>(&self, op: impl Fn() -> Result<T>) -> Result<T> {
        match op() {
            Err(e) if session_gone(&e) => {
                if let Ok(mut service) = self.ss.lock() {
                    service.ss = None;
                }
                op()
            }
            other => other,
        }
    }
}

impl CredentialApi for Cred {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        self.with_session(|| self.set(secret))
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        self.with_session(|| {
            if let Some(secret) = self.get_in_place() {
                return secret;
            }
            self.with_item(|_, item| match item {
                Some(item) => block_on(item.get_secret()).map_err(decode),
                None => Err(Error::NoEntry),
            })
        })
    }

    fn delete_credential(&self) -> Result<()> {
        let deleted = self.with_session(|| {
            self.with_item(|_, item| match item {
                Some(item) => block_on(item.delete()).map_err(decode),
                None => Err(Error::NoEntry),
            })
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

impl Cred {
    /// [`CredentialApi::set_secret`] on this session.
    fn set(&self, secret: &[u8]) -> Result<()> {
        if self.set_in_place(secret) {
            return Ok(());
        }
        self.with_item(|ss, item| match item {
            Some(item) => block_on(item.set_secret(secret, CONTENT_TYPE)).map_err(decode),
            None => block_on(async {
                let collection = ss.get_default_collection().await?;
                collection.ensure_unlocked().await?;
                collection
                    .create_item(
                        &format!("Latchkey {}", self.user),
                        self.attributes(),
                        secret,
                        true,
                        CONTENT_TYPE,
                    )
                    .await
                    .map(|_| ())
            })
            .map_err(decode),
        })
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
