//! The main window. It exists only while it is on screen: closing it (with the tray in place)
//! destroys the webview, and with it WebKit's web process; the tray, a notification, a deep
//! link or a second launch builds it again from the same configuration (tauri.conf.json's
//! `main`, which Tauri does not create itself). What it showed comes back with it: the window
//! state plugin puts back its size and position, and the page the view it reported last
//! ([`remember_view`]). Sign-ins in progress live here in the shell, not in the page: their
//! outcomes wait in the event queue until the new page asks for them.

use std::sync::Mutex;

use tauri::{AppHandle, Manager, State, WebviewWindow, WebviewWindowBuilder};

pub const MAIN: &str = "main";

/// The largest view the page may leave here (it is a few hundred bytes of JSON).
const VIEW_MAX: usize = 64 * 1024;

/// What the page showed last, as it described it (opaque here). Tauri-managed state; kept in
/// memory only: a new start opens on the accounts.
#[derive(Default)]
pub struct LastView(Mutex<Option<String>>);

/// Builds the main window from its configuration: title, size, CSP and the capability that
/// names its label are those of tauri.conf.json; the window state plugin restores the size and
/// position it had. Shown at once unless `visible` is false.
pub fn build_main(app: &AppHandle, visible: bool) -> tauri::Result<WebviewWindow> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let window = WebviewWindowBuilder::from_config(app, &config)?
        .visible(visible)
        .build()?;
    #[cfg(not(target_os = "linux"))]
    crate::appearance::watch(&window);
    Ok(window)
}

/// The window, brought forward (a second launch, a notification, the tray, a deep link); built
/// again when it was closed.
pub fn focus_main(app: &AppHandle) {
    let window = match app.get_webview_window(MAIN) {
        Some(window) => window,
        None => match build_main(app, true) {
            Ok(window) => window,
            Err(e) => {
                eprintln!("latchkey: cannot open the window: {e}");
                return;
            }
        },
    };
    let _ = window.unminimize();
    let _ = window.show();
    let _ = window.set_focus();
}

/// The page reports the view it shows (on every change), for the next window to open on.
#[tauri::command]
pub fn remember_view(view: String, last: State<'_, LastView>) {
    if view.len() <= VIEW_MAX {
        *last.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(view);
    }
}

/// The view the page showed last (none before the first window reported one).
#[tauri::command]
pub fn remembered_view(last: State<'_, LastView>) -> Option<String> {
    last.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
