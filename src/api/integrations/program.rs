//! The program `latchkey exec` starts, found before it runs: with Latchkey's own `PATH`, never
//! one an env file sets, and as an absolute path, which is what access rules are checked
//! against and what is started.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Why a program cannot be started; shells and `env` exit 127 and 126 for these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    #[error("cannot run {}: no such program{}", .name.to_string_lossy(), if *.searched { " on PATH" } else { "" })]
    NotFound { name: OsString, searched: bool },
    #[error("cannot run {}: it is not an executable file", .path.display())]
    NotExecutable { path: PathBuf },
}

impl ProgramError {
    /// The exit code a shell gives: 127 for not found, 126 for found but not executable.
    pub fn exit_code(&self) -> u8 {
        match self {
            ProgramError::NotFound { .. } => 127,
            ProgramError::NotExecutable { .. } => 126,
        }
    }
}

impl From<ProgramError> for Error {
    fn from(e: ProgramError) -> Self {
        let kind = match e {
            ProgramError::NotFound { .. } => std::io::ErrorKind::NotFound,
            ProgramError::NotExecutable { .. } => std::io::ErrorKind::PermissionDenied,
        };
        Error::io("cannot start the program", std::io::Error::new(kind, e))
    }
}

/// The absolute path of the program `name` names, as `execvp` would find it with Latchkey's own
/// `PATH` (this process's, never the one an env file sets): a name with a `/` is taken as a
/// path (relative to the current directory); a bare name is looked up in the absolute
/// directories of `PATH` (empty and relative entries are skipped: they would find a program in
/// whatever directory the command runs in). The path is not canonicalized (a symlink stays
/// one, as the program may look at its own name).
pub fn resolve_program(name: &OsStr) -> Result<PathBuf, ProgramError> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    resolve_with(name, &path_var)
}

fn resolve_with(name: &OsStr, path_var: &OsStr) -> Result<PathBuf, ProgramError> {
    let not_found = |searched| ProgramError::NotFound {
        name: name.to_os_string(),
        searched,
    };
    if name.is_empty() {
        return Err(not_found(false));
    }
    if Path::new(name).components().count() > 1 || name.to_string_lossy().contains('/') {
        let path = std::path::absolute(name).map_err(|_| not_found(false))?;
        return match executable(&path) {
            Some(true) => Ok(path),
            Some(false) => Err(ProgramError::NotExecutable { path }),
            None => Err(not_found(false)),
        };
    }
    let mut not_executable = None;
    for dir in std::env::split_paths(path_var).filter(|d| d.is_absolute()) {
        let candidate = dir.join(name);
        match executable(&candidate) {
            Some(true) => return Ok(candidate),
            Some(false) => {
                not_executable.get_or_insert(candidate);
            }
            None => {}
        }
    }
    match not_executable {
        Some(path) => Err(ProgramError::NotExecutable { path }),
        None => Err(not_found(true)),
    }
}

/// `None` when nothing is there; `Some(false)` for a directory or a file without execute
/// permission.
fn executable(path: &Path) -> Option<bool> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    Some(meta.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn programs_are_found_on_absolute_path_entries_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("latchkey-program-test-")
            .tempdir()
            .unwrap();
        let (bin, plain) = (dir.path().join("bin"), dir.path().join("plain"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&plain).unwrap();
        std::fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(plain.join("tool"), "").unwrap();
        std::fs::write(plain.join("text"), "").unwrap();
        let path = std::env::join_paths([&plain, &bin]).unwrap();
        assert_eq!(
            resolve_with(OsStr::new("tool"), &path).unwrap(),
            bin.join("tool")
        );
        let err = resolve_with(OsStr::new("text"), &path).unwrap_err();
        assert_eq!(err.exit_code(), 126, "{err}");
        let err = resolve_with(OsStr::new("nosuchcmd"), &path).unwrap_err();
        assert_eq!(err.exit_code(), 127);
        assert_eq!(
            err.to_string(),
            "cannot run nosuchcmd: no such program on PATH"
        );
        // Relative entries are skipped.
        assert!(resolve_with(OsStr::new("tool"), OsStr::new("bin:.")).is_err());
        // A path is taken as one.
        let tool = bin.join("tool");
        assert_eq!(
            resolve_with(tool.as_os_str(), OsStr::new("")).unwrap(),
            tool
        );
        let dir_err = resolve_with(bin.as_os_str(), OsStr::new("")).unwrap_err();
        assert_eq!(dir_err.exit_code(), 126);
        let missing = resolve_with(OsStr::new("./nope"), OsStr::new("")).unwrap_err();
        assert_eq!(missing.exit_code(), 127);
        let _ = std::fs::remove_dir_all(dir);
    }
}
