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

/// The variable naming the agent socket to use, like `SSH_AUTH_SOCK`: on a remote machine, the
/// socket `latchkey ssh` (or `ssh -R`) forwarded there.
pub const SOCK_VAR: &str = "LATCHKEY_AGENT_SOCK";

/// Where `latchkey ssh` puts the forwarded socket on the far side: `/tmp/` + this + random +
/// `.sock`. The far side's `latchkey` finds it there with no setup ([`forwarded_socket`]).
pub const FORWARD_PREFIX: &str = "latchkey-forward-";

/// `$LATCHKEY_AGENT_SOCK` when set, else `$XDG_RUNTIME_DIR/latchkey/agent.sock` (see
/// [`crate::store::paths::runtime_dir`]).
pub fn socket_path() -> PathBuf {
    match std::env::var_os(SOCK_VAR).filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => default_socket_path(),
    }
}

fn default_socket_path() -> PathBuf {
    crate::store::paths::runtime_dir().join("agent.sock")
}

/// The socket of a forwarded agent this process should use, if any: `$LATCHKEY_AGENT_SOCK`
/// when set; else, on a machine where Latchkey was never set up (no config directory, no agent
/// socket), the newest `/tmp/latchkey-forward-*.sock` of this user (one `latchkey ssh` made).
/// A forwarded agent is the only source of tokens: no keychain is tried when it does not answer.
pub fn forwarded_socket() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(SOCK_VAR).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let set_up = crate::store::paths::config_dir().is_ok_and(|dir| dir.exists());
    if set_up || default_socket_path().exists() {
        return None;
    }
    let me = euid();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir("/tmp")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name();
            let name = name.to_str()?;
            if !(name.starts_with(FORWARD_PREFIX) && name.ends_with(".sock")) {
                return None;
            }
            let meta = entry.path().symlink_metadata().ok()?;
            use std::os::unix::fs::FileTypeExt;
            (meta.file_type().is_socket() && meta.uid() == me)
                .then(|| Some((meta.modified().ok()?, entry.path())))
                .flatten()
        })
        .collect();
    // Newest first; sshd leaves a session's socket behind when it ends: one nobody listens on
    // is removed (it is this user's own).
    found.sort();
    while let Some((_, path)) = found.pop() {
        match std::os::unix::net::UnixStream::connect(&path) {
            Ok(_) => return Some(path),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
    None
}

/// The socket's directory is one whose content only the user (and root) can change: the
/// user's own directory, or a sticky directory of root's (`/tmp`, where sshd puts forwarded
/// sockets) when the socket itself is the user's. Either way the client then checks that the
/// process listening runs as the user.
pub fn check_socket_dir(socket: &Path) -> Result<()> {
    let dir = socket
        .parent()
        .ok_or_else(|| Error::InvalidInput(format!("no directory in {}", socket.display())))?;
    if check_owned(dir, true).is_ok() {
        return Ok(());
    }
    let dir_meta = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    let sticky =
        dir_meta.file_type().is_dir() && dir_meta.uid() == 0 && dir_meta.mode() & 0o1000 != 0;
    if sticky {
        check_owned(socket, false)?;
        return Ok(());
    }
    check_owned(dir, true)
}

/// The lock the running agent holds for its whole life: one agent per directory.
pub fn lock_path(socket: &Path) -> PathBuf {
    socket.with_extension("lock")
}

/// Whether an agent still holds the lock of `socket`: it takes it before it binds and lets go
/// only once it has removed its sockets (or when it dies), so a stop is complete when this is
/// false. A shared lock for the look, so that it never looks like an agent itself.
pub fn lock_held(socket: &Path) -> bool {
    match std::fs::File::open(lock_path(socket)) {
        Ok(file) => matches!(
            file.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        ),
        Err(_) => false,
    }
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
