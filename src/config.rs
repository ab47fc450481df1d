//! The two TOML files in the config directory: `profiles.toml` (made to be read and edited by
//! hand) and `accounts.toml` (account metadata). Neither ever holds a secret. Writes go to a temp
//! file that is renamed over the old one, under a lock, so readers never see half a file and two
//! writers never lose each other's change.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::error::{Error, Result};
use crate::profile::Profile;

const PROFILES_HEADER: &str = "# Latchkey OAuth client profiles. Edit freely; secrets are in the OS keychain, never here.\n\n";
const ACCOUNTS_HEADER: &str =
    "# Latchkey accounts (metadata only; the tokens are in the OS keychain).\n\n";

#[derive(Debug, Default, Serialize, Deserialize)]
struct ProfilesFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AccountsFile {
    #[serde(default, rename = "account")]
    accounts: Vec<Account>,
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

    pub fn profiles_path(&self) -> PathBuf {
        self.dir.join("profiles.toml")
    }

    pub fn accounts_path(&self) -> PathBuf {
        self.dir.join("accounts.toml")
    }

    pub fn profiles(&self) -> Result<Vec<Profile>> {
        let path = self.profiles_path();
        let file: ProfilesFile = read_toml(&path)?;
        file.profiles
            .into_iter()
            .map(|(name, mut p)| {
                p.name = name;
                p.validate().map_err(|e| Error::Config {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                Ok(p)
            })
            .collect()
    }

    pub fn profile(&self, name: &str) -> Result<Profile> {
        self.profiles()?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::ProfileNotFound(name.to_string()))
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        let file: AccountsFile = read_toml(&self.accounts_path())?;
        Ok(file.accounts)
    }

    /// Read-modify-write of the profiles under the config lock.
    pub fn update_profiles<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Profile>) -> Result<T>,
    ) -> Result<T> {
        let _lock = self.lock()?;
        let path = self.profiles_path();
        let mut file: ProfilesFile = read_toml(&path)?;
        let out = change(&mut file.profiles)?;
        write_toml(&path, PROFILES_HEADER, &file)?;
        Ok(out)
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
        let _lock = self.lock()?;
        let path = self.accounts_path();
        let mut file: AccountsFile = read_toml(&path)?;
        let out = change(&mut file.accounts)?;
        write_toml(&path, ACCOUNTS_HEADER, &file)?;
        Ok(out)
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

    fn lock(&self) -> Result<File> {
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

pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))
}

fn lock_file(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("cannot open lock file {}", path.display()), e))?;
    // Released when the file is closed, also when the process dies.
    file.lock()
        .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
    Ok(file)
}

fn read_toml<T: Default + for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    match fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            detail: format!("{e}; fix the file by hand or restore it from a backup"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

fn write_toml<T: Serialize>(path: &Path, header: &str, value: &T) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_dir(dir)?;
    let body = toml::to_string_pretty(value).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("config");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(header.as_bytes())?;
        file.write_all(body.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(format!("cannot write {}", path.display()), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{AuthMethod, RedirectMode};

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "latchkey-config-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn profiles_round_trip_and_read_back_by_hand() {
        let config = Config::new(temp_dir());
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
    fn account_lock_names_have_one_length_and_differ_per_account() {
        let config = Config::new(temp_dir());
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
        let config = Config::new(temp_dir());
        fs::write(config.profiles_path(), "[profiles.x]\nclient_id = 3\n").unwrap();
        let err = config.profiles().unwrap_err();
        assert!(matches!(err, Error::Config { .. }));
        assert!(err.to_string().contains("profiles.toml"), "{err}");
        // A failed update leaves the file as it was.
        let before = fs::read(config.profiles_path()).unwrap();
        assert!(config.update_profiles(|_| Ok(())).is_err());
        assert_eq!(fs::read(config.profiles_path()).unwrap(), before);
    }
}
