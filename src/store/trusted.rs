//! `trusted.toml` in the config directory: the env files the user trusted with `latchkey
//! trust`, each by its canonical path and the SHA-256 of the content that was shown. A file
//! whose content differs from what was trusted is untrusted again. Read strictly and edited in
//! place like the other config files; written privately, under the config lock.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::config::{self, Config};
use crate::store::private_files;
use crate::store::toml_edits::{self, Layout};

const HEADER: &str = "# Env files you trusted with `latchkey trust`: a file is used only while its content has\n# this SHA-256. `latchkey trust --remove FILE` takes one out.\n\n";

/// One trusted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedFile {
    /// Canonical (absolute, no symlink).
    pub path: PathBuf,
    /// Lowercase hex SHA-256 of the content that was trusted.
    pub sha256: String,
    /// Unix seconds.
    pub trusted_at: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TrustedFileList {
    #[serde(default, rename = "file")]
    files: Vec<TrustedFile>,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn path(config: &Config) -> PathBuf {
    config.dir().join("trusted.toml")
}

fn read(config: &Config) -> Result<toml_edits::Parsed<Vec<TrustedFile>>> {
    private_files::check_dir(config.dir())?;
    let parsed =
        toml_edits::read::<TrustedFileList>(&path(config), &Layout::array::<TrustedFile>("file"))?;
    Ok(toml_edits::Parsed {
        doc: parsed.doc,
        value: parsed.value.files,
    })
}

/// Every trusted file, in the order they were trusted.
pub fn list(config: &Config) -> Result<Vec<TrustedFile>> {
    Ok(read(config)?.value)
}

/// Whether `path` (canonical) is trusted with exactly the content whose digest is `sha256`.
pub fn is_trusted(config: &Config, path: &Path, sha256: &str) -> Result<bool> {
    Ok(list(config)?
        .iter()
        .any(|t| t.path == path && t.sha256 == sha256))
}

/// Read-modify-write under the config lock; only what `change` changed is rewritten.
fn update<T>(config: &Config, change: impl FnOnce(&mut Vec<TrustedFile>) -> T) -> Result<T> {
    private_files::ensure_dir(config.dir())?;
    config.edit_file(
        &path(config),
        || read(config),
        |files| Ok(change(files)),
        |doc, before, after| {
            toml_edits::merge_array(doc, "file", before, after, |t| t.path.clone())
        },
        |files| config::fresh_file(HEADER, &TrustedFileList { files }),
    )
}

/// Trusts `file` (replacing what was trusted at its path before).
pub fn add(config: &Config, file: TrustedFile) -> Result<()> {
    update(config, |all| {
        match all.iter_mut().find(|t| t.path == file.path) {
            Some(slot) => *slot = file,
            None => all.push(file),
        }
    })
}

/// Stops trusting `path`; whether it was trusted.
pub fn remove(config: &Config, path: &Path) -> Result<bool> {
    update(config, |all| {
        let before = all.len();
        all.retain(|t| t.path != path);
        all.len() != before
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_files_round_trip_and_are_read_strictly() {
        let config = Config::temp();
        let file = |p: &str, sha: &str| TrustedFile {
            path: PathBuf::from(p),
            sha256: sha.into(),
            trusted_at: 1,
        };
        assert!(list(&config).unwrap().is_empty());
        add(&config, file("/a/.latchkey.env", "11")).unwrap();
        add(&config, file("/b/.latchkey.env", "22")).unwrap();
        add(&config, file("/a/.latchkey.env", "33")).unwrap();
        assert!(is_trusted(&config, Path::new("/a/.latchkey.env"), "33").unwrap());
        assert!(!is_trusted(&config, Path::new("/a/.latchkey.env"), "11").unwrap());
        assert_eq!(list(&config).unwrap().len(), 2);
        assert!(remove(&config, Path::new("/b/.latchkey.env")).unwrap());
        assert!(!remove(&config, Path::new("/b/.latchkey.env")).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(&config))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(path(&config)).unwrap();
        std::fs::write(
            path(&config),
            format!("{text}[[file]]\npath = \"/c\"\nsha = \"x\"\n"),
        )
        .unwrap();
        let err = list(&config).unwrap_err().to_string();
        assert!(
            err.contains("trusted.toml") && err.contains("`sha`"),
            "{err}"
        );
        assert_eq!(sha256_hex(b"abc").len(), 64);
    }
}
