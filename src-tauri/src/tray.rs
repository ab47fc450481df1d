//! The tray icon (AppIndicator on Linux): every account with its status, a click copies a
//! fresh token; "Open Latchkey", "Quit". The menu is rebuilt when an account or its status
//! changes: when the app changes one (a copy, a sign-in, the window's reload) it asks for a
//! rebuild; otherwise the menu wakes when a label changes by the clock, and at least every
//! [`RECHECK`] for changes other processes made (the CLI's sign-ins).
//!
//! With the tray in place, closing the window destroys it (window.rs) but not the app, which
//! goes on serving the CLI (main.rs keeps its run loop going).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager};
use tokio::sync::Notify;

use crate::accounts_changed::AccountsChanged;
use crate::state::AppState;
use crate::tray_menu::{self, Action, Entry};

/// How long the menu may show what another process changed.
const RECHECK: Duration = Duration::from_secs(30);

/// Tauri-managed state: the icon and what its menu shows.
pub struct Tray {
    icon: TrayIcon,
    shown: Mutex<Option<Vec<Entry>>>,
}

/// Puts the icon in the tray and keeps its menu current. Without a tray (an error here), the
/// window closes the app as before.
pub fn setup(app: &AppHandle) -> tauri::Result<()> {
    let mut builder = TrayIconBuilder::with_id("latchkey")
        .tooltip("Latchkey")
        .menu(&build_menu(app, &[])?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id.as_ref()));
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    app.manage(Tray {
        icon,
        shown: Mutex::new(None),
    });
    let changed = AccountsChanged::default();
    app.manage(changed.clone());
    tauri::async_runtime::spawn(keep_current(app.clone(), changed.0));
    Ok(())
}

async fn keep_current(app: AppHandle, rebuild: Arc<Notify>) {
    loop {
        let now = latchkey::model::tokens::now();
        let accounts = app
            .state::<AppState>()
            .engine()
            .ok()
            .and_then(|e| e.accounts().ok())
            .unwrap_or_default();
        let entries = tray_menu::entries(&accounts, now);
        if let Err(e) = show(&app, entries) {
            eprintln!("latchkey: cannot update the tray menu: {e}");
        }
        let wait = tray_menu::next_change(&accounts, now)
            .map(|t| Duration::from_secs((t - now).max(1) as u64))
            .map_or(RECHECK, |w| w.min(RECHECK));
        tokio::select! {
            () = rebuild.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Replaces the menu when what it lists differs from what it shows.
fn show(app: &AppHandle, entries: Vec<Entry>) -> tauri::Result<()> {
    let tray = app.state::<Tray>();
    let mut shown = tray.shown.lock().unwrap_or_else(|e| e.into_inner());
    if shown.as_ref() == Some(&entries) {
        return Ok(());
    }
    tray.icon.set_menu(Some(build_menu(app, &entries)?))?;
    *shown = Some(entries);
    Ok(())
}

fn build_menu(app: &AppHandle, entries: &[Entry]) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    let add = |id: &str, label: &str, enabled: bool| {
        menu.append(&MenuItem::with_id(app, id, label, enabled, None::<&str>)?)
    };
    if entries.is_empty() {
        add("none", "No accounts yet", false)?;
    }
    for e in entries {
        add(&e.id(), &e.label, true)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    add(tray_menu::OPEN, "Open Latchkey", true)?;
    add(tray_menu::QUIT, "Quit", true)?;
    Ok(menu)
}

fn on_menu(app: &AppHandle, id: &str) {
    match tray_menu::action(id) {
        Some(Action::Copy(account)) => {
            tauri::async_runtime::spawn(crate::copying::copy_from_tray(app.clone(), account));
        }
        Some(Action::SignIn(account)) => crate::notify::open_sign_in(app, &account),
        Some(Action::Open) => crate::window::focus_main(app),
        // The run loop's exit clears the clipboard and closes the agent's socket.
        Some(Action::Quit) => app.exit(0),
        None => {}
    }
}
