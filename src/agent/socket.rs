//! The agent's socket and its directory. The directory is the user's own with mode 0700; the
//! socket in it is the user's. Neither is the security boundary (a user may loosen modes): the
//! server checks each peer's uid (see `server`), and the client checks that the agent is the
//! user's before trusting its answers.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// `$XDG_RUNTIME_DIR/latchkey/agent.sock` (see [`crate::store::paths::runtime_dir`]).
pub fn socket_path() -> PathBuf {
    crate::store::paths::runtime_dir().join("agent.sock")
}

/// The lock the running agent holds for its whole life: one agent per directory.
pub fn lock_path(socket: &Path) -> PathBuf {
    socket.with_extension("lock")
}

/// Creates the socket's directory when missing (0700) and checks that it is the user's own
/// directory, not a symlink; a looser mode is tightened. For the server.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(format!("cannot create {}", dir.display()), e)),
    }
    check_owned(dir, true)?;
    let mode = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("cannot make {} private", dir.display()), e))?;
    }
    Ok(())
}

/// Whether `path` is the user's own (and a directory when `dir`, not a symlink). A socket in a
/// directory of someone else's could be an impostor handing out tokens of its choosing.
pub fn check_owned(path: &Path, dir: bool) -> Result<()> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if meta.uid() != euid() || (dir && !meta.file_type().is_dir()) {
        return Err(Error::InvalidInput(format!(
            "{} is not a directory of your own; remove it, or set XDG_RUNTIME_DIR to a private directory",
            path.display()
        )));
    }
    Ok(())
}

/// Whether a peer with `uid` may use the agent of the user `own`: only that user.
pub fn peer_allowed(uid: u32, own: u32) -> bool {
    uid == own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_user_is_served() {
        assert!(peer_allowed(1000, 1000));
        assert!(!peer_allowed(65534, 1000));
        assert!(!peer_allowed(0, 1000), "not even root");
    }

    #[test]
    fn the_directory_is_made_private_and_must_be_ours() {
        let dir = std::env::temp_dir().join(format!("latchkey-sock-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        prepare_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        prepare_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        // A symlink is not taken for the directory.
        let link = dir.with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(check_owned(&link, true).is_err());
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
