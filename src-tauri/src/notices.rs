//! The engine's notices ("unlock your keyring…", "refused a response…") as they happen: to
//! the window as events, and an account that needs sign-in as a desktop notification.

use std::sync::{Arc, OnceLock};

use latchkey::model::notice::{Notice, NoticeHook};
use tauri::{AppHandle, Emitter};

use crate::dto::NoticeDto;

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
