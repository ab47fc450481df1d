//! The app in the background: closing the window hides it, and the first time that happens
//! the user is told, once for good (a marker file in the app's config directory).

use std::path::PathBuf;

use tauri::{AppHandle, Manager};

const SAID: &str = "closed-to-tray-said";

/// The window was closed (hidden): says that Latchkey goes on in the tray, unless said before.
pub fn closed_to_tray(app: &AppHandle) {
    let Some(marker) = marker(app) else {
        return;
    };
    if marker.exists() {
        return;
    }
    std::thread::spawn(move || {
        if crate::notify::still_running() {
            remember(&marker);
        }
    });
}

fn marker(app: &AppHandle) -> Option<PathBuf> {
    app.path().app_config_dir().ok().map(|d| d.join(SAID))
}

fn remember(marker: &std::path::Path) {
    let written = marker
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(marker, b""));
    if let Err(e) = written {
        eprintln!("latchkey: cannot write {}: {e}", marker.display());
    }
}

/// Whether this start was asked to stay in the tray (`--hidden`: how start at login runs it).
pub fn starts_hidden() -> bool {
    std::env::args()
        .skip(1)
        .any(|a| a == crate::autostart::HIDDEN_ARG)
}
