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
        None => under_home(".config", "XDG_CONFIG_HOME", "config")?,
    };
    Ok(base.join("latchkey"))
}

/// `$XDG_STATE_HOME/latchkey`, else `~/.local/state/latchkey` (history); on Windows beside the
/// config.
pub fn state_dir() -> Result<PathBuf> {
    match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("latchkey")),
        None if cfg!(windows) => config_dir(),
        None => under_home(".local/state/latchkey", "XDG_STATE_HOME", "state"),
    }
}

/// `~/relative`, for when `$xdg_var` is not set; an error when HOME is not set either.
fn under_home(relative: &str, xdg_var: &str, what: &str) -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|home| PathBuf::from(home).join(relative))
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "neither {xdg_var} nor HOME is set: cannot find the {what} directory"
            ))
        })
}

/// Where the agent's socket lives: `$XDG_RUNTIME_DIR/latchkey`, else `/tmp/latchkey-UID` (a
/// directory of Latchkey's own, checked to be the user's by [`crate::agent`]).
#[cfg(unix)]
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("latchkey"),
        None => {
            let uid = rustix::process::geteuid().as_raw();
            std::env::temp_dir().join(format!("latchkey-{uid}"))
        }
    }
}
