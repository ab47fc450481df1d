//! Where Latchkey keeps its files: one directory shared by the CLI and the desktop app.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// `$XDG_CONFIG_HOME/latchkey`, else `~/.config/latchkey` (`%APPDATA%\latchkey` on Windows).
pub fn config_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None if cfg!(windows) => std::env::var_os("APPDATA")
            .map(PathBuf::from)
            .ok_or_else(|| Error::InvalidInput("%APPDATA% is not set".into()))?,
        None => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|home| PathBuf::from(home).join(".config"))
            .ok_or_else(|| {
                Error::InvalidInput(
                    "neither XDG_CONFIG_HOME nor HOME is set: cannot find the config directory"
                        .into(),
                )
            })?,
    };
    Ok(base.join("latchkey"))
}

/// `$XDG_STATE_HOME/latchkey`, else `~/.local/state/latchkey` (history); on Windows beside the
/// config.
pub fn state_dir() -> Result<PathBuf> {
    match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("latchkey")),
        None if cfg!(windows) => config_dir(),
        None => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|home| PathBuf::from(home).join(".local/state/latchkey"))
            .ok_or_else(|| {
                Error::InvalidInput(
                    "neither XDG_STATE_HOME nor HOME is set: cannot find the state directory"
                        .into(),
                )
            }),
    }
}

/// Where the agent's socket lives: `$XDG_RUNTIME_DIR/latchkey`, else `/tmp/latchkey-UID` (a
/// directory of Latchkey's own, checked to be the user's by [`crate::agent`]).
#[cfg(unix)]
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("latchkey"),
        None => {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let uid = unsafe { libc::geteuid() };
            std::env::temp_dir().join(format!("latchkey-{uid}"))
        }
    }
}
