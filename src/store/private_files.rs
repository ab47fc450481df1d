//! Files in the config directory, which decides where tokens and client secrets are sent: the
//! directory is trusted only when it is the user's and closed to others, and files are replaced
//! through temp files opened exclusively, without following symlinks, with mode 0600.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Symlinks followed to reach the file a write replaces (the kernel's own limit is 40).
const MAX_SYMLINKS: usize = 40;

/// Refuses a directory that someone else owns or that group or others may write: they could
/// change the endpoints tokens go to. A missing directory is fine (it is created private).
pub fn check_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = match fs::metadata(dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
        };
        let quoted = shell_quote(dir);
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(Error::UnsafeDir {
                dir: dir.to_path_buf(),
                detail: format!(
                    "belongs to uid {}, not to you (uid {me}); make it yours with `sudo chown \"$(id -un)\" {quoted}` or remove it",
                    meta.uid()
                ),
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(Error::UnsafeDir {
                dir: dir.to_path_buf(),
                detail: format!(
                    "is writable by group or others (mode {mode:04o}); close it with `chmod go-w {quoted}`"
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `dir` (and its missing parents) with mode 0700, then checks it.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    check_dir(dir)
}

/// Options that never follow a symlink at the path and create files with mode 0600.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options
}

/// Opens (creating it if needed) a private log file for appending; a symlink is refused.
pub fn open_append(path: &Path) -> io::Result<File> {
    private_options().create(true).append(true).open(path)
}

/// Opens (creating it if needed) a lock file; a symlink planted at `path` is refused.
pub fn open_lock(path: &Path) -> io::Result<File> {
    private_options().create(true).truncate(false).open(path)
}

/// A new file next to `near`, created exclusively (never an existing file or symlink) with mode
/// 0600 and an unguessable name. Returns the file and its path.
pub fn create_temp(near: &Path) -> io::Result<(File, PathBuf)> {
    let dir = near.parent().unwrap_or(Path::new("."));
    let name = near
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("latchkey");
    let mut last = None;
    for _ in 0..8 {
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        match private_options().create_new(true).open(&tmp) {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temp file name")))
}

/// The file a write to `path` must replace: `path` itself, or the end of its symlink chain, so
/// that a dotfiles-managed link stays a link.
pub fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "too many levels of symbolic links at {}",
        path.display()
    )))
}

/// Replaces the file at `path` (through any symlinks) with `bytes` in one rename, so readers
/// see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = resolve_symlinks(path)?;
    let (mut file, tmp) = create_temp(&target)?;
    let written = file
        .write_all(bytes)
        .and_then(|_| file.sync_all())
        .and_then(|_| fs::rename(&tmp, &target));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// `path` as one shell word, for the commands suggested in errors.
#[cfg(unix)]
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+~@%,:".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fresh private directory, removed when dropped.
    fn temp_dir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("latchkey-private-test-")
            .tempdir()
            .unwrap()
    }

    /// The file `name` in `dir` holding `text`, and a symlink `link` in `dir` to it.
    fn file_and_link(dir: &Path, name: &str, text: &str, link: &str) -> (PathBuf, PathBuf) {
        let (file, link) = (dir.join(name), dir.join(link));
        fs::write(&file, text).unwrap();
        std::os::unix::fs::symlink(name, &link).unwrap();
        (file, link)
    }

    #[test]
    fn an_open_directory_is_refused_with_the_fix() {
        let tmp = temp_dir();
        let dir = tmp.path();
        assert!(check_dir(dir).is_ok());
        assert!(check_dir(&dir.join("missing")).is_ok());
        fs::set_permissions(dir, fs::Permissions::from_mode(0o770)).unwrap();
        let err = check_dir(dir).unwrap_err().to_string();
        assert!(err.contains(&dir.display().to_string()), "{err}");
        assert!(err.contains("chmod go-w") && err.contains("0770"), "{err}");
        fs::set_permissions(dir, fs::Permissions::from_mode(0o702)).unwrap();
        assert!(check_dir(dir).is_err());
        fs::set_permissions(dir, fs::Permissions::from_mode(0o750)).unwrap();
        assert!(check_dir(dir).is_ok(), "group-readable is fine");
    }

    #[test]
    fn writes_go_through_symlinks_into_private_files() {
        let tmp = temp_dir();
        let dir = tmp.path();
        let (real, link) = file_and_link(dir, "real.toml", "old", "link.toml");
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // No temp file is left behind.
        assert_eq!(fs::read_dir(dir).unwrap().count(), 2);
    }

    #[test]
    fn a_symlink_planted_at_a_lock_path_is_not_followed() {
        let tmp = temp_dir();
        let (victim, lock) = file_and_link(tmp.path(), "victim", "keep", ".lock");
        assert!(open_lock(&lock).is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }
}
