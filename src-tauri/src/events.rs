//! Events to the window: sign-in outcomes, held back until the window has loaded, and the
//! engine's notices.

use std::sync::{Arc, Mutex, OnceLock};

use latchkey::model::notice::{Notice, NoticeHook};
use tauri::{AppHandle, Emitter, Manager};

use crate::dto::{NoticeDto, SignInEvent};

pub const SIGN_IN: &str = "sign-in";

/// Events that arrived before the window loaded (a cold start by deep link); `None` once the
/// window has asked for them. Tauri-managed state.
pub struct EventQueue(Mutex<Option<Vec<SignInEvent>>>);

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue(Mutex::new(Some(Vec::new())))
    }
}

impl EventQueue {
    /// Hands over what is queued; from now on events go to the window as they happen.
    pub fn release(&self) -> Vec<SignInEvent> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default()
    }
}

/// Sends an event to the window, or keeps it until the window has loaded.
pub fn notify(app: &AppHandle, event: SignInEvent) {
    let queue = app.state::<EventQueue>();
    let mut queued = queue.0.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(queue) = queued.as_mut() {
        queue.push(event);
        return;
    }
    drop(queued);
    let _ = app.emit(SIGN_IN, event);
    crate::window::focus_main(app);
}

/// The engine's notices ("unlock your keyring…", "refused a response…") as they happen.
pub const NOTICE: &str = "notice";

/// Where the engine's notices go. The engine is built before the app exists, so its hook
/// writes to this slot, which setup connects to the app.
#[derive(Clone, Default)]
pub struct NoticeSink(Arc<OnceLock<AppHandle>>);

impl NoticeSink {
    /// The engine's hook: emits each notice to the window (none before setup connects).
    pub fn hook(&self) -> NoticeHook {
        let app = self.0.clone();
        Arc::new(move |notice: &Notice| {
            let Some(app) = app.get() else {
                return;
            };
            match notice {
                // From the agent's refresher as often as from the window: the desktop's
                // notification, which opens the sign-in; the window shows the account's state.
                Notice::NeedsSignIn { account, reason } => {
                    crate::notify::needs_sign_in(app, account, reason);
                    crate::accounts_changed::accounts_changed(app);
                }
                _ => {
                    let _ = app.emit(NOTICE, NoticeDto::from(notice));
                }
            }
        })
    }

    pub fn connect(&self, app: AppHandle) {
        let _ = self.0.set(app);
    }
}
