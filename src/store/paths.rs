//! Where Latchkey keeps its files: one directory shared by the CLI and the desktop app.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// `$XDG_CONFIG_HOME/latchkey`, else `~/.config/latchkey` (`%APPDATA%\latchkey` on Windows).
pub fn config_dir() -> Result<PathBuf> {
    Ok(config_home()?.join("latchkey"))
}

/// `$XDG_CONFIG_HOME`, else `~/.config` (`%APPDATA%` on Windows): the user's config files.
pub fn config_home() -> Result<PathBuf> {
    match xdg("XDG_CONFIG_HOME") {
        Some(dir) => Ok(dir),
        None if cfg!(windows) => std::env::var_os("APPDATA")
            .map(PathBuf::from)
            .ok_or_else(|| Error::InvalidInput("%APPDATA% is not set".into())),
        None => under_home(".config", "XDG_CONFIG_HOME", "config"),
    }
}

/// `$XDG_STATE_HOME/latchkey`, else `~/.local/state/latchkey` (history); on Windows beside the
/// config.
pub fn state_dir() -> Result<PathBuf> {
    match xdg("XDG_STATE_HOME") {
        Some(dir) => Ok(dir.join("latchkey")),
        None if cfg!(windows) => config_dir(),
        None => under_home(".local/state/latchkey", "XDG_STATE_HOME", "state"),
    }
}

/// `$var`, an XDG base directory; none when it is unset, empty or relative (the XDG spec has a
/// relative one ignored, which would otherwise name a directory below wherever Latchkey runs).
fn xdg(var: &str) -> Option<PathBuf> {
    absolute(std::env::var_os(var))
}

fn absolute(value: Option<OsString>) -> Option<PathBuf> {
    value.map(PathBuf::from).filter(|p| p.is_absolute())
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
    match xdg("XDG_RUNTIME_DIR") {
        Some(dir) => dir.join("latchkey"),
        None => {
            let uid = rustix::process::geteuid().as_raw();
            std::env::temp_dir().join(format!("latchkey-{uid}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xdg_directory_counts_only_when_absolute() {
        let dir = std::env::temp_dir();
        assert_eq!(absolute(Some(dir.clone().into_os_string())), Some(dir));
        for ignored in ["", "config", "./config", "../x"] {
            assert_eq!(absolute(Some(ignored.into())), None, "{ignored:?}");
        }
        assert_eq!(absolute(None), None);
    }
}
