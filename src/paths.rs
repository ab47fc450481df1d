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
