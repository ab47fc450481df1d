//! Desktop notifications: an account that needs a new sign-in (the provider answered
//! `invalid_grant` to the app's agent, its background refresh, or a copy), a copy from the tray
//! that failed, and, once, that closing the window leaves Latchkey in the tray.
//!
//! Through notify-rust: the freedesktop notification service on Linux and the BSDs, where the
//! notification's action (clicking it, or its "Sign in" button) opens the window on the
//! account's sign-in. macOS and Windows show the notification without that action: clicking
//! it brings the app forward at most, and the window lists the account as needing sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

/// Asks the window to start an account's sign-in (from a notification or the tray).
pub const OPEN_SIGN_IN: &str = "open-sign-in";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenSignIn {
    pub account: String,
    pub profile: String,
}

/// The same account is not announced twice within this time (a copy's error and the engine's
/// notice for one refusal).
const QUIET: Duration = Duration::from_secs(30);

/// When each account was last announced as needing a sign-in (Tauri-managed state).
#[derive(Default)]
pub struct Announced(Mutex<HashMap<String, Instant>>);

impl Announced {
    /// Whether `account` may be announced now (and records that it is).
    fn first(&self, account: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        seen.retain(|_, at| now.duration_since(*at) < QUIET);
        seen.insert(account.to_string(), now).is_none()
    }
}

/// The window, brought forward on the sign-in of `account`.
pub fn open_sign_in(app: &AppHandle, account: &str) {
    let profile = account.split_once('/').map_or(account, |(p, _)| p);
    let ask = OpenSignIn {
        account: account.to_string(),
        profile: profile.to_string(),
    };
    crate::window::focus_main(app);
    // A window built again here asks once its page listens.
    crate::events::when_loaded(app, move |app| {
        let _ = app.emit(OPEN_SIGN_IN, ask);
    });
}

/// `account` needs a new sign-in: says so, and opens its sign-in when the notification is
/// activated (where the platform reports that).
pub fn needs_sign_in(app: &AppHandle, account: &str, reason: &str) {
    if !app.state::<Announced>().first(account) {
        return;
    }
    let app = app.clone();
    let account = account.to_string();
    let body = format!("{reason}\nSign in again to keep using it.");
    show(
        format!("{account} needs a new sign-in"),
        body,
        Some(("sign-in", "Sign in")),
        move || open_sign_in(&app, &account),
    );
}

pub fn copy_failed(app: &AppHandle, account: &str, message: &str) {
    let app = app.clone();
    show(
        format!("Could not copy the token of {account}"),
        message.to_string(),
        Some(("open", "Open Latchkey")),
        move || crate::window::focus_main(&app),
    );
}

/// Says, the first time the window is closed, that the app goes on in the tray. Returns
/// whether the notification was shown (if not, it is tried again at the next close).
pub fn still_running() -> bool {
    let body = "Latchkey keeps running in the tray and goes on serving the CLI. \
                Open it from the tray icon; quit it from the tray's menu.";
    show_now("Latchkey is still running".into(), body.into(), None).is_some()
}

/// Shows a notification in the background; `activated` runs when the user clicks it or its
/// action (freedesktop only).
fn show(
    summary: String,
    body: String,
    action: Option<(&'static str, &'static str)>,
    activated: impl FnOnce() + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name("latchkey-notify".into())
        .spawn(move || {
            let Some(handle) = show_now(summary, body, action) else {
                return;
            };
            wait(handle, action.map(|(id, _)| id), activated);
        });
    if let Err(e) = spawned {
        eprintln!("latchkey: cannot show a notification: {e}");
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
type Handle = notify_rust::NotificationHandle;
#[cfg(not(all(unix, not(target_os = "macos"))))]
type Handle = ();

fn show_now(
    summary: String,
    body: String,
    action: Option<(&'static str, &'static str)>,
) -> Option<Handle> {
    let mut n = notify_rust::Notification::new();
    n.appname("Latchkey")
        .summary(&summary)
        .body(&latchkey::model::untrusted::markup_escaped(&body))
        .icon("latchkey-desktop");
    #[cfg(all(unix, not(target_os = "macos")))]
    if let Some((id, label)) = action {
        // "default" is what a click on the notification itself reports.
        n.action("default", label).action(id, label);
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = action;
    match n.show() {
        #[cfg(all(unix, not(target_os = "macos")))]
        Ok(handle) => Some(handle),
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        Ok(_) => Some(()),
        Err(e) => {
            eprintln!("latchkey: no desktop notification ({e}): {summary}");
            None
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn wait(handle: Handle, action: Option<&'static str>, activated: impl FnOnce()) {
    let Some(action) = action else {
        return;
    };
    // Returns when the notification is closed, dismissed or acted on.
    handle.wait_for_action(|chosen| {
        if chosen == "default" || chosen == action {
            activated();
        }
    });
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn wait(_handle: Handle, _action: Option<&'static str>, _activated: impl FnOnce()) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_announced_once_in_a_while() {
        let announced = Announced::default();
        assert!(announced.first("p/a"));
        assert!(!announced.first("p/a"), "the copy's error after the notice");
        assert!(announced.first("p/b"));
    }
}
