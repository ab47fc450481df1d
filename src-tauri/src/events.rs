//! Events to the window: sign-in outcomes, held back until the window has loaded.

use std::sync::Mutex;

use tauri::{AppHandle, Emitter, Manager};

use crate::dto::SignInEvent;

pub const SIGN_IN: &str = "sign-in";

/// Something to do once a page listens (ask it for an account's sign-in).
type Then = Box<dyn FnOnce(&AppHandle) + Send>;

/// What waits for a page to load: sign-in outcomes, and what to do then.
#[derive(Default)]
pub struct Held {
    events: Vec<SignInEvent>,
    then: Vec<Then>,
}

/// What arrived while no page had loaded (a cold start by deep link, or the window closed to
/// the tray); `None` while a loaded page listens. Tauri-managed state.
pub struct EventQueue(Mutex<Option<Held>>);

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue(Mutex::new(Some(Held::default())))
    }
}

impl EventQueue {
    /// Hands over what is queued (the sign-in outcomes; the rest runs now); from now on events
    /// go to the window as they happen.
    pub fn release(&self, app: &AppHandle) -> Vec<SignInEvent> {
        let held = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        for then in held.then {
            then(app);
        }
        held.events
    }

    /// The page is gone: events wait for the next one.
    pub fn hold(&self) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(Held::default);
    }
}

/// Sends an event to the window, or keeps it until a window has loaded (and opens one when
/// there is none).
pub fn notify(app: &AppHandle, event: SignInEvent) {
    let queue = app.state::<EventQueue>();
    let mut queued = queue.0.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(held) = queued.as_mut() {
        held.events.push(event);
        drop(queued);
        if app.get_webview_window(crate::window::MAIN).is_none() {
            crate::window::focus_main(app);
        }
        return;
    }
    drop(queued);
    let _ = app.emit(SIGN_IN, event);
    crate::window::focus_main(app);
}

/// Runs `then` once a page listens: now, or when the next one has loaded.
pub fn when_loaded(app: &AppHandle, then: impl FnOnce(&AppHandle) + Send + 'static) {
    let queue = app.state::<EventQueue>();
    let mut queued = queue.0.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(held) = queued.as_mut() {
        held.then.push(Box::new(then));
        return;
    }
    drop(queued);
    then(app);
}
