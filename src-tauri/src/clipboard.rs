//! Secrets on the clipboard: written by the backend (the token never enters the webview),
//! marked for clipboard managers as a secret where the platform has a convention for it, and
//! cleared after [`CLEAR_AFTER_SECS`] (see [`clear_after_secs`]) when the clipboard still holds what Latchkey put there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CLEAR_AFTER_SECS: u32 = 30;

/// [`CLEAR_AFTER_SECS`], or `LATCHKEY_CLIPBOARD_CLEAR_SECS` (1–600) for tests.
pub fn clear_after_secs() -> u32 {
    std::env::var("LATCHKEY_CLIPBOARD_CLEAR_SECS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|v| (1..=600).contains(v))
        .unwrap_or(CLEAR_AFTER_SECS)
}

#[derive(Default)]
pub struct SecretClipboard {
    /// Kept alive: on X11 the process that owns the selection serves its content.
    clipboard: Mutex<Option<arboard::Clipboard>>,
    /// The last secret copied, with its generation, until it is cleared or replaced.
    last: Mutex<Option<(u64, String)>>,
    generation: AtomicU64,
}

/// Clipboard errors are not about secrets, but say nothing of the content either.
fn describe(e: arboard::Error) -> String {
    match e {
        arboard::Error::ClipboardNotSupported => {
            "this desktop has no clipboard Latchkey can use".into()
        }
        arboard::Error::ClipboardOccupied => "the clipboard is busy; try again".into(),
        _ => "the clipboard could not be written; try again".into(),
    }
}

impl SecretClipboard {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut arboard::Clipboard) -> Result<R, arboard::Error>,
    ) -> Result<R, String> {
        let mut guard = self.clipboard.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(arboard::Clipboard::new().map_err(describe)?);
        }
        f(guard.as_mut().expect("set above")).map_err(describe)
    }

    /// Puts `value` on the clipboard as a secret and schedules its removal. Returns whether
    /// the entry was marked as concealed for clipboard managers.
    pub fn copy_secret(self: &Arc<Self>, value: String) -> Result<bool, String> {
        let concealed = cfg!(any(target_os = "linux", target_os = "macos", windows));
        self.with(|cb| {
            let set = cb.set();
            #[cfg(target_os = "linux")]
            let set = {
                use arboard::SetExtLinux;
                // Adds `x-kde-passwordManagerHint: secret` (KDE Klipper, GNOME extensions,
                // cliphist and others skip such entries).
                set.exclude_from_history()
            };
            #[cfg(target_os = "macos")]
            let set = {
                use arboard::SetExtApple;
                set.exclude_from_history()
            };
            #[cfg(windows)]
            let set = {
                use arboard::SetExtWindows;
                set.exclude_from_history()
            };
            set.text(value.clone())
        })?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, value));
        let this = Arc::clone(self);
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(Duration::from_secs(u64::from(clear_after_secs()))).await;
            let _ =
                tauri::async_runtime::spawn_blocking(move || this.clear_if_ours(Some(generation)))
                    .await;
        });
        Ok(concealed)
    }

    /// Clears the clipboard when it still holds the secret of `generation` (any, for `None`).
    /// Something the user copied since is left alone.
    pub fn clear_if_ours(&self, generation: Option<u64>) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let Some((g, value)) = last.as_ref() else {
            return;
        };
        if generation.is_some_and(|want| want != *g) {
            return;
        }
        let current = self.with(|cb| cb.get_text()).ok();
        if current.as_deref() == Some(value.as_str()) {
            let _ = self.with(|cb| cb.clear());
        }
        *last = None;
    }

    /// Plain, non-secret text (a redirect URI, a sign-in URL).
    pub fn copy_plain(&self, text: String) -> Result<(), String> {
        self.with(|cb| cb.set_text(text))
    }
}
