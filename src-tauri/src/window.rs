//! The main window, brought forward (a second launch, a notification, the tray).

use tauri::{AppHandle, Manager};

pub fn focus_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
