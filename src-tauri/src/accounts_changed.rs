//! "The accounts may have changed": said by whatever changes them in this app (a copy, a
//! refusal, the window's reload), heard by what lists them outside the window (the tray).

use std::sync::Arc;

use tauri::{AppHandle, Manager};
use tokio::sync::Notify;

/// Tauri-managed state, present while something listens.
#[derive(Clone, Default)]
pub struct AccountsChanged(pub Arc<Notify>);

pub fn accounts_changed(app: &AppHandle) {
    if let Some(changed) = app.try_state::<AccountsChanged>() {
        changed.0.notify_one();
    }
}
