//! The two TOML files in the config directory: `profiles.toml` (made to be read and edited by
//! hand) and `accounts.toml` (account metadata). Neither ever holds a secret. Both are read
//! strictly and edited in place (see [`crate::store::toml_edits`]), so nothing a user wrote is dropped;
//! writes replace the file (through a symlink) in one rename, under a lock, so readers never see
//! half a file and two writers never lose each other's change. The directory is trusted only
//! when it is the user's and closed to others ([`private_files::check_dir`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toml_edit::DocumentMut;

use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::profile::Profile;
use crate::store::keychain::{Keychain, KeychainNamespace, NamespaceSource};
use crate::store::private_files;
use crate::store::toml_edits::{self, Layout};

const PROFILES_HEADER: &str = "# Latchkey OAuth client profiles. Edit freely; secrets are in the OS keychain, never here.\n# Keys starting with `x-` are yours: Latchkey ignores them and keeps them.\n\n";
const ACCOUNTS_HEADER: &str =
    "# Latchkey accounts (metadata only; the tokens are in the OS keychain).\n\n";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ProfilesFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct AccountsFile {
    #[serde(default, rename = "account")]
    accounts: Vec<Account>,
}

fn profiles_layout() -> Layout {
    Layout::named::<Profile>("profiles")
}

fn accounts_layout() -> Layout {
    Layout::array::<Account>("account")
}

/// The file holding this directory's keychain namespace id (see [`Config::keychain_namespace`]).
const KEYCHAIN_ID_FILE: &str = "keychain-id";
pub const PROFILES_FILE: &str = "profiles.toml";
pub const ACCOUNTS_FILE: &str = "accounts.toml";
/// Present while entries of the unnamespaced layout may still be this directory's to migrate.
const KEYCHAIN_LEGACY_FILE: &str = "keychain-legacy";

/// The keychain namespace of a config directory, read (or created) on first use.
#[derive(Debug)]
struct DirNamespace {
    config: Config,
    /// Whether the directory existed when the keychain was made for it.
    existed: bool,
}

impl NamespaceSource for DirNamespace {
    fn namespace(&self) -> std::result::Result<KeychainNamespace, String> {
        self.config
            .keychain_namespace(self.existed)
            .map_err(|e| e.to_string())
    }
}

impl Keychain {
    /// This keychain with every entry named under `config`'s directory's namespace
    /// ([`Config::keychain_namespace`]), so that another config directory on the same keychain
    /// never reads or deletes one of them. Entries of the old layout move in when first read,
    /// while the directory's migration is pending.
    pub fn for_config(self, config: Config) -> Self {
        let existed = config.dir().exists();
        // Decided now, before this process writes anything in the directory.
        let known = existed
            .then(|| config.keychain_namespace(true).ok())
            .flatten();
        self.with_namespace(DirNamespace { config, existed }, known)
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    dir: PathBuf,
}

impl Config {
    pub fn new(dir: PathBuf) -> Self {
        Config { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory (private) before anything is written to it, for a watch to hold.
    pub fn create_dir(&self) -> Result<()> {
        private_files::ensure_dir(&self.dir)
    }

    pub fn profiles_path(&self) -> PathBuf {
        self.dir.join(PROFILES_FILE)
    }

    pub fn accounts_path(&self) -> PathBuf {
        self.dir.join(ACCOUNTS_FILE)
    }

    /// The profiles by name, each named.
    fn read_profiles(&self) -> Result<toml_edits::Parsed<BTreeMap<String, Profile>>> {
        private_files::check_dir(&self.dir)?;
        let parsed = toml_edits::read::<ProfilesFile>(&self.profiles_path(), &profiles_layout())?;
        Ok(toml_edits::Parsed {
            doc: parsed.doc,
            value: named(parsed.value.profiles),
        })
    }

    fn read_accounts(&self) -> Result<toml_edits::Parsed<Vec<Account>>> {
        private_files::check_dir(&self.dir)?;
        let parsed = toml_edits::read::<AccountsFile>(&self.accounts_path(), &accounts_layout())?;
        Ok(toml_edits::Parsed {
            doc: parsed.doc,
            value: parsed.value.accounts,
        })
    }

    pub fn profiles(&self) -> Result<Vec<Profile>> {
        private_files::check_dir(&self.dir)?;
        let file: ProfilesFile = toml_edits::read_value(&self.profiles_path(), &profiles_layout())?;
        let profiles = named(file.profiles);
        for p in profiles.values() {
            p.validate().map_err(|e| Error::Config {
                path: self.profiles_path(),
                detail: e.to_string(),
            })?;
        }
        Ok(profiles.into_values().collect())
    }

    pub fn profile(&self, name: &str) -> Result<Profile> {
        self.profiles()?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::ProfileNotFound(name.to_string()))
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        private_files::check_dir(&self.dir)?;
        let file: AccountsFile = toml_edits::read_value(&self.accounts_path(), &accounts_layout())?;
        Ok(file.accounts)
    }

    /// Read-modify-write of the profiles under the config lock. Only what `change` changed is
    /// rewritten; the rest of the file stays as the user wrote it.
    pub fn update_profiles<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Profile>) -> Result<T>,
    ) -> Result<T> {
        self.edit_file(
            &self.profiles_path(),
            || self.read_profiles(),
            change,
            |doc, before, after| toml_edits::merge_named(doc, "profiles", before, after),
            |profiles| fresh_file(PROFILES_HEADER, &ProfilesFile { profiles }),
        )
    }

    /// Read-modify-write of the accounts under the config lock.
    pub fn update_accounts<T>(&self, change: impl FnOnce(&mut Vec<Account>) -> T) -> Result<T> {
        self.try_update_accounts(|all| Ok(change(all)))
    }

    /// [`Config::update_accounts`] that writes nothing when `change` fails. `change` runs under
    /// the config lock, so what it reads (e.g. the profiles) no writer changes meanwhile.
    pub fn try_update_accounts<T>(
        &self,
        change: impl FnOnce(&mut Vec<Account>) -> Result<T>,
    ) -> Result<T> {
        self.edit_file(
            &self.accounts_path(),
            || self.read_accounts(),
            change,
            |doc, before, after| {
                toml_edits::merge_array(doc, "account", before, after, |a| {
                    (a.profile.clone(), a.label.clone())
                })
            },
            |accounts| fresh_file(ACCOUNTS_HEADER, &AccountsFile { accounts }),
        )
    }

    /// Read-modify-write of `path` under the config lock: `change` edits a copy of what `read`
    /// found. An existing file is edited in place (`merge` applies the change from the entries
    /// before to those after), so only what changed is rewritten; a new one is `fresh`'s text.
    pub(crate) fn edit_file<V: Clone, R>(
        &self,
        path: &Path,
        read: impl FnOnce() -> Result<toml_edits::Parsed<V>>,
        change: impl FnOnce(&mut V) -> Result<R>,
        merge: impl FnOnce(&mut DocumentMut, &V, &V) -> Result<()>,
        fresh: impl FnOnce(V) -> Result<String>,
    ) -> Result<R> {
        let _lock = self.lock()?;
        let parsed = read()?;
        let mut after = parsed.value.clone();
        let out = change(&mut after)?;
        let text = match parsed.doc {
            Some(mut doc) => {
                merge(&mut doc, &parsed.value, &after)?;
                doc.to_string()
            }
            None => fresh(after)?,
        };
        self.write(path, &text)?;
        Ok(out)
    }

    /// The entries of another file of the config directory that holds an array of tables
    /// under `key` (`[[rule]]` in `access.toml`), read as strictly as the others.
    pub fn read_list<T: DeserializeOwned + Serialize>(
        &self,
        file: &str,
        key: &'static str,
    ) -> Result<Vec<T>> {
        let layout = Layout::array::<T>(key);
        let parsed = toml_edits::read::<BTreeMap<String, Vec<T>>>(&self.dir.join(file), &layout)?;
        Ok(parsed.value.into_values().next().unwrap_or_default())
    }

    /// Read-modify-write of such a file under the config lock, edited in place (the user's
    /// comments and `x-` keys kept); entries are matched by `id`.
    pub fn update_list<T, K, R>(
        &self,
        file: &str,
        header: &str,
        key: &'static str,
        id: impl Fn(&T) -> K,
        change: impl FnOnce(&mut Vec<T>) -> Result<R>,
    ) -> Result<R>
    where
        T: DeserializeOwned + Serialize + Clone,
        K: PartialEq,
    {
        let path = self.dir.join(file);
        let read = || {
            let parsed =
                toml_edits::read::<BTreeMap<String, Vec<T>>>(&path, &Layout::array::<T>(key))?;
            Ok(toml_edits::Parsed {
                value: parsed.value.get(key).cloned().unwrap_or_default(),
                doc: parsed.doc,
            })
        };
        self.edit_file(
            &path,
            read,
            change,
            |doc, before, after| toml_edits::merge_array(doc, key, before, after, id),
            |after| fresh_file(header, &BTreeMap::from([(key, after)])),
        )
    }

    /// Replaces or inserts one account's metadata.
    pub fn put_account(&self, account: Account) -> Result<()> {
        self.update_accounts(|all| {
            match all
                .iter_mut()
                .find(|a| a.profile == account.profile && a.label == account.label)
            {
                Some(slot) => *slot = account,
                None => all.push(account),
            }
        })
    }

    /// This directory's keychain namespace, its id created once (under the config lock) and
    /// kept in the directory: two config directories on one keychain never share an entry.
    /// `may_be_legacy`: whether a directory without an id may have used the old layout (false
    /// when it did not exist when this process started: what it holds now is this process's).
    pub fn keychain_namespace(&self, may_be_legacy: bool) -> Result<KeychainNamespace> {
        let path = self.dir.join(KEYCHAIN_ID_FILE);
        let legacy = || self.dir.join(KEYCHAIN_LEGACY_FILE).exists();
        if let Some(id) = self.read_keychain_id(&path)? {
            return Ok(KeychainNamespace {
                id,
                legacy: legacy(),
            });
        }
        let _lock = self.lock()?;
        if let Some(id) = self.read_keychain_id(&path)? {
            return Ok(KeychainNamespace {
                id,
                legacy: legacy(),
            });
        }
        // A directory with profiles or accounts already used the old layout.
        if may_be_legacy && (self.profiles_path().exists() || self.accounts_path().exists()) {
            self.write(&self.dir.join(KEYCHAIN_LEGACY_FILE), "")?;
        }
        let id: String = (0..2)
            .map(|_| format!("{:016x}", rand::random::<u64>()))
            .collect();
        self.write(&path, &format!("{id}\n"))?;
        Ok(KeychainNamespace {
            id,
            legacy: legacy(),
        })
    }

    /// The old layout's entries of this directory have all been taken over.
    pub fn finish_keychain_migration(&self) -> Result<()> {
        match std::fs::remove_file(self.dir.join(KEYCHAIN_LEGACY_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("cannot finish the keychain migration", e))
            }
            _ => Ok(()),
        }
    }

    fn read_keychain_id(&self, path: &Path) -> Result<Option<String>> {
        private_files::check_dir(&self.dir)?;
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        let id = text.trim();
        if id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Config {
                path: path.to_path_buf(),
                detail: "not a keychain id (32 hex digits)".into(),
            });
        }
        Ok(Some(id.to_string()))
    }

    pub(crate) fn write(&self, path: &Path, text: &str) -> Result<()> {
        private_files::write_atomic(path, text.as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// The config lock, which every read-modify-write of a file in the directory holds.
    pub(crate) fn lock(&self) -> Result<File> {
        lock_file(&self.dir.join(".lock"))
    }

    /// An exclusive lock serialising refreshes of one account across processes.
    pub fn account_lock(&self, profile: &str, label: &str) -> Result<File> {
        lock_file(&self.account_lock_path(profile, label))
    }

    /// An exclusive lock of its own for one account and `purpose` (e.g. browser sign-ins),
    /// independent of [`Config::account_lock`] so that a holder may still refresh.
    pub fn account_purpose_lock(&self, purpose: &str, profile: &str, label: &str) -> Result<File> {
        lock_file(&self.account_file("locks", profile, label, &format!("{purpose}.lock")))
    }

    fn account_lock_path(&self, profile: &str, label: &str) -> PathBuf {
        self.account_file("locks", profile, label, "lock")
    }

    /// `DIR/<SHA-256 of PROFILE/LABEL>.EXT` in the config directory: one file per account, of
    /// a fixed length whatever the names (the hex of the names themselves outgrew the 255-byte
    /// file-name limit well inside the 128-character name limits), and a valid file name for
    /// any label (e-mail, URL-shaped `sub`).
    pub fn account_file(&self, dir: &str, profile: &str, label: &str, ext: &str) -> PathBuf {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{profile}/{label}").as_bytes());
        let key: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(dir).join(format!("{key}.{ext}"))
    }
}

#[cfg(test)]
thread_local! {
    /// The directories of the test running on this thread, removed when it ends: libtest gives
    /// each test a thread of its own.
    static TEST_DIRS: std::cell::RefCell<Vec<tempfile::TempDir>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
impl Config {
    /// A config on a fresh private directory, for unit tests; removed when the test ends.
    pub(crate) fn temp() -> Config {
        let dir = tempfile::TempDir::with_prefix("latchkey-config-test-").expect("temp dir");
        let config = Config::new(dir.path().to_path_buf());
        TEST_DIRS.with_borrow_mut(|dirs| dirs.push(dir));
        config
    }
}

/// Profiles in the text of a `profiles.toml` from elsewhere (an import), read by the
/// same strict rules as the user's own file, each named; nothing is validated yet. The
/// error is what is wrong, with its line.
pub fn parse_profiles(text: &str) -> std::result::Result<BTreeMap<String, Profile>, String> {
    let (_, file) = toml_edits::parse::<ProfilesFile>(text, &profiles_layout())?;
    Ok(named(file.profiles))
}

/// Each profile with its name (the table's key).
fn named(mut profiles: BTreeMap<String, Profile>) -> BTreeMap<String, Profile> {
    for (name, p) in &mut profiles {
        p.name = name.clone();
    }
    profiles
}

/// `profiles` as `profiles.toml` text (an export), after `header` (comment lines);
/// `note` gives a comment to put above a profile's table.
pub fn render_profiles<'a>(
    header: &str,
    profiles: impl IntoIterator<Item = &'a Profile>,
    note: impl Fn(&Profile) -> Option<String>,
) -> Result<String> {
    let mut text = header.to_string();
    for p in profiles {
        let one = ProfilesFile {
            profiles: BTreeMap::from([(p.name.clone(), p.clone())]),
        };
        text.push('\n');
        if let Some(note) = note(p) {
            text.push_str(&note);
        }
        text.push_str(&fresh_file("", &one)?);
    }
    Ok(text)
}

/// A file written for the first time: the header, then Latchkey's own layout.
pub(crate) fn fresh_file<T: Serialize>(header: &str, value: &T) -> Result<String> {
    let body = toml::to_string_pretty(value)
        .map_err(|e| Error::InvalidInput(format!("cannot store: {e}")))?;
    Ok(format!("{header}{body}"))
}

/// Creates the parent directories private (and checks them), then takes the lock.
fn lock_file(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        private_files::ensure_dir(parent)?;
    }
    let file = private_files::open_lock(path)
        .map_err(|e| Error::io(format!("cannot open lock file {}", path.display()), e))?;
    // Released when the file is closed, also when the process dies.
    file.lock()
        .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::profile::{AuthMethod, RedirectMode};
    use std::fs;

    #[test]
    fn profiles_round_trip_and_read_back_by_hand() {
        let profile = Profile {
            client_id: "abc".into(),
            authorization_endpoint: "https://github.com/login/oauth/authorize".parse().unwrap(),
            token_endpoint: "https://github.com/login/oauth/access_token"
                .parse()
                .unwrap(),
            scopes: vec!["repo".into()],
            auth_method: AuthMethod::Post,
            redirect: RedirectMode::Loopback,
            ..Profile::for_tests("gh")
        };
        let config = Config::temp();
        config
            .update_profiles(|all| {
                all.insert(profile.name.clone(), profile.clone());
                Ok(())
            })
            .unwrap();
        assert_eq!(config.profile("gh").unwrap(), profile);
        let text = fs::read_to_string(config.profiles_path()).unwrap();
        assert!(text.contains("[profiles.gh]"), "{text}");
        assert!(text.contains("auth_method = \"post\""), "{text}");
        assert!(matches!(
            config.profile("nope"),
            Err(Error::ProfileNotFound(_))
        ));
    }

    #[test]
    fn a_lookup_sees_every_change_to_the_file_and_its_errors_even_after_the_same_text_was_read() {
        let config = Config::temp();
        let file = |expires: i64| {
            format!(
                "{ACCOUNTS_HEADER}[[account]]\nprofile = \"p\"\nlabel = \"a\"\nexpires_at = {expires}\nsigned_in_at = 1\n"
            )
        };
        let expiry = |config: &Config| config.accounts().unwrap()[0].expires_at;
        fs::write(config.accounts_path(), file(1000)).unwrap();
        assert_eq!(expiry(&config), Some(1000));
        assert_eq!(expiry(&config), Some(1000), "the same text, parsed or not");
        // The same length, written at once: a cache keyed on size or time would miss it.
        fs::write(config.accounts_path(), file(2000)).unwrap();
        assert_eq!(expiry(&config), Some(2000));
        // A typo is an error every time it is read, and a fix is read at once.
        fs::write(config.accounts_path(), file(2000).replace("label", "lable")).unwrap();
        for _ in 0..2 {
            let e = config.accounts().unwrap_err();
            assert!(e.to_string().contains("lable"), "{e}");
        }
        fs::write(config.accounts_path(), file(1000)).unwrap();
        assert_eq!(expiry(&config), Some(1000));
        // A second config directory has its own file.
        let other = Config::temp();
        assert!(other.accounts().unwrap().is_empty());
        assert_eq!(expiry(&config), Some(1000));
    }

    #[test]
    fn account_lock_names_have_one_length_and_differ_per_account() {
        let config = Config::temp();
        let longest = "p".repeat(128);
        let names = [
            config.account_lock_path("a", "b"),
            config.account_lock_path(&longest, &"l".repeat(128)),
            config.account_lock_path("a/b", ""),
        ];
        for path in &names {
            assert_eq!(path.file_name().unwrap().len(), 64 + ".lock".len());
        }
        assert_ne!(names[0], names[2], "the digest covers the whole name");
        // The longest names lock (the old hex names exceeded the file-name limit).
        drop(config.account_lock(&longest, &"é".repeat(64)).unwrap());
    }

    #[test]
    fn a_broken_hand_edit_is_reported_with_the_path() {
        let config = Config::temp();
        fs::write(config.profiles_path(), "[profiles.x]\nclient_id = 3\n").unwrap();
        let err = config.profiles().unwrap_err();
        assert!(matches!(err, Error::Config { .. }));
        assert!(err.to_string().contains("profiles.toml"), "{err}");
        // A failed update leaves the file as it was.
        let before = fs::read(config.profiles_path()).unwrap();
        assert!(config.update_profiles(|_| Ok(())).is_err());
        assert_eq!(fs::read(config.profiles_path()).unwrap(), before);
    }

    #[test]
    fn hand_edits_are_kept_and_typos_refused_by_line() {
        let config = Config::temp();
        let add = |name: &str| {
            config.update_profiles(|all| {
                all.insert(name.into(), Profile::for_tests(name));
                Ok(())
            })
        };
        add("a").unwrap();
        let path = config.profiles_path();
        let edited = fs::read_to_string(&path)
            .unwrap()
            .replace("client_id = \"client\"", "client_id = \"client\" # mine")
            + "x-owner = \"me\"\n";
        fs::write(&path, &edited).unwrap();
        add("b").unwrap();
        config
            .update_profiles(|all| {
                all.get_mut("a").unwrap().scopes = vec!["openid".into()];
                all.remove("b");
                Ok(())
            })
            .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            edited.replace("scopes = []", "scopes = [\"openid\"]"),
            "only the changed key was written"
        );
        assert!(!fields_contain("name") && fields_contain("scopes"));

        fs::write(&path, format!("{edited}\n[profiles.c]\nscope = []\n")).unwrap();
        let err = config.profiles().unwrap_err().to_string();
        let line = edited.lines().count() + 3;
        assert!(
            err.contains("profiles.toml")
                && err.contains(&format!("line {line}: unknown key `scope` in [profiles.c]"))
                && err.contains("did you mean `scopes`"),
            "{err}"
        );
    }

    fn fields_contain(key: &str) -> bool {
        toml_edits::fields_of::<Profile>().contains(&key)
    }

    #[test]
    fn account_metadata_keeps_comments_and_order() {
        let config = Config::temp();
        let account = |label: &str| Account {
            profile: "p".into(),
            label: label.into(),
            subject: None,
            scopes: vec![],
            expires_at: Some(1),
            has_refresh_token: true,
            needs_sign_in: None,
            signed_in_at: 0,
            default: false,
            dpop_bound: false,
        };
        config.put_account(account("one")).unwrap();
        config.put_account(account("two")).unwrap();
        let path = config.accounts_path();
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("label = \"one\"", "label = \"one\" # the old laptop");
        fs::write(&path, &text).unwrap();
        config
            .put_account(Account {
                expires_at: Some(2),
                ..account("one")
            })
            .unwrap();
        config.put_account(account("three")).unwrap();
        config
            .update_accounts(|all| all.retain(|a| a.label != "two"))
            .unwrap();
        let after = fs::read_to_string(&path).unwrap();
        assert!(
            after.contains("label = \"one\" # the old laptop"),
            "{after}"
        );
        let labels: Vec<String> = config
            .accounts()
            .unwrap()
            .into_iter()
            .map(|a| a.label)
            .collect();
        assert_eq!(labels, ["one", "three"]);
        assert_eq!(config.accounts().unwrap()[0].expires_at, Some(2));
        fs::write(&path, format!("{after}[[account]]\nprofile = \"p\"\nlabel = \"x\"\nsigned_in_at = 0\nsubjet = \"s\"\n")).unwrap();
        let err = config.accounts().unwrap_err().to_string();
        assert!(
            err.contains("unknown key `subjet` in [[account]] #3"),
            "{err}"
        );
    }
}
