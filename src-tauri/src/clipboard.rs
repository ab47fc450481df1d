//! Secrets on the clipboard: written by the backend (the token never enters the webview),
//! marked for clipboard managers as a secret where the platform has a convention for it, and
//! cleared after [`CLEAR_AFTER_SECS`] (see [`clear_after_secs`]) unless the user copied
//! something else since. The clear fails closed: a clipboard that cannot be read back is cleared
//! anyway, and a clear that fails is retried.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub const CLEAR_AFTER_SECS: u32 = 30;
/// How often a failed clear is tried again, and how many times.
const RETRY_DELAY: Duration = Duration::from_secs(2);
const RETRIES: u32 = 30;

/// [`CLEAR_AFTER_SECS`], or `LATCHKEY_CLIPBOARD_CLEAR_SECS` (1–600) for tests.
pub fn clear_after_secs() -> u32 {
    std::env::var("LATCHKEY_CLIPBOARD_CLEAR_SECS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|v| (1..=600).contains(v))
        .unwrap_or(CLEAR_AFTER_SECS)
}

/// What Latchkey needs of a clipboard: arboard's in the app, a fake in the tests.
trait Board: Send {
    fn set_secret(&mut self, text: &str) -> Result<(), String>;
    fn set_plain(&mut self, text: &str) -> Result<(), String>;
    fn get_text(&mut self) -> Result<String, String>;
    fn clear(&mut self) -> Result<(), String>;
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

/// Kept alive: on X11 the process that owns the selection serves its content.
struct Arboard(arboard::Clipboard);

impl Board for Arboard {
    fn set_secret(&mut self, text: &str) -> Result<(), String> {
        let set = self.0.set();
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
        set.text(text).map_err(describe)
    }

    fn set_plain(&mut self, text: &str) -> Result<(), String> {
        self.0.set_text(text).map_err(describe)
    }

    fn get_text(&mut self) -> Result<String, String> {
        self.0.get_text().map_err(describe)
    }

    fn clear(&mut self) -> Result<(), String> {
        self.0.clear().map_err(describe)
    }
}

type Opener = Box<dyn Fn() -> Result<Box<dyn Board>, String> + Send + Sync>;

/// Everything a copy and a clear look at, under one lock: a copy's write and its generation
/// cannot interleave with another copy's.
#[derive(Default)]
struct State {
    board: Option<Box<dyn Board>>,
    /// The last secret copied, with its generation, until it is cleared or replaced.
    last: Option<(u64, String)>,
    generation: u64,
}

impl State {
    fn board(&mut self, open: &Opener) -> Result<&mut dyn Board, String> {
        if self.board.is_none() {
            self.board = Some(open()?);
        }
        Ok(self.board.as_deref_mut().expect("set above"))
    }
}

/// Whether a clear is over or must be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clear {
    Done,
    Retry,
}

pub struct SecretClipboard {
    state: Mutex<State>,
    open: Opener,
}

impl Default for SecretClipboard {
    fn default() -> Self {
        SecretClipboard::with_opener(Box::new(|| {
            Ok(Box::new(Arboard(arboard::Clipboard::new().map_err(describe)?)) as Box<dyn Board>)
        }))
    }
}

impl SecretClipboard {
    fn with_opener(open: Opener) -> Self {
        SecretClipboard {
            state: Mutex::default(),
            open,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts `value` on the clipboard as a secret and schedules its removal. Returns whether
    /// the entry was marked as concealed for clipboard managers.
    pub fn copy_secret(self: &Arc<Self>, value: String) -> Result<bool, String> {
        let concealed = cfg!(any(target_os = "linux", target_os = "macos", windows));
        let generation = self.copy(value)?;
        let delay = Duration::from_secs(u64::from(clear_after_secs()));
        tauri::async_runtime::spawn(Arc::clone(self).clear_later(generation, delay, RETRY_DELAY));
        Ok(concealed)
    }

    /// Writes the secret and records it, as one step; returns its generation.
    fn copy(&self, value: String) -> Result<u64, String> {
        let mut state = self.state();
        state.board(&self.open)?.set_secret(&value)?;
        state.generation += 1;
        let generation = state.generation;
        state.last = Some((generation, value));
        Ok(generation)
    }

    /// After `delay`, clears the secret of `generation`, trying again every `retry` while the
    /// clipboard will not clear.
    async fn clear_later(self: Arc<Self>, generation: u64, delay: Duration, retry: Duration) {
        tokio::time::sleep(delay).await;
        for _ in 0..=RETRIES {
            let this = Arc::clone(&self);
            let outcome = tokio::task::spawn_blocking(move || this.clear_once(Some(generation)))
                .await
                .unwrap_or(Clear::Retry);
            if outcome == Clear::Done {
                return;
            }
            tokio::time::sleep(retry).await;
        }
    }

    /// Clears the clipboard unless it demonstrably holds something else than the secret of
    /// `generation` (any, for `None`): what the user copied since is left alone, a clipboard
    /// that cannot be read is cleared all the same. A newer copy has its own clear.
    fn clear_once(&self, generation: Option<u64>) -> Clear {
        let mut state = self.state();
        let Some((g, value)) = state.last.take() else {
            return Clear::Done;
        };
        if generation.is_some_and(|want| want != g) {
            state.last = Some((g, value));
            return Clear::Done;
        }
        let outcome = match state.board(&self.open) {
            Err(_) => Clear::Retry,
            Ok(board) => match board.get_text() {
                Ok(text) if text != value => Clear::Done,
                // Ours, or unreadable (it may still be ours).
                _ => match board.clear() {
                    Ok(()) => Clear::Done,
                    Err(_) => Clear::Retry,
                },
            },
        };
        if outcome == Clear::Retry {
            state.last = Some((g, value));
        }
        outcome
    }

    /// Clears now (the app is quitting), with a few quick tries.
    pub fn clear_if_ours(&self, generation: Option<u64>) {
        for _ in 0..3 {
            if self.clear_once(generation) == Clear::Done {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Plain, non-secret text (a redirect URI, a sign-in URL). It replaces any secret, so there
    /// is nothing left to clear.
    pub fn copy_plain(&self, text: String) -> Result<(), String> {
        let mut state = self.state();
        state.board(&self.open)?.set_plain(&text)?;
        state.last = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A clipboard in memory that can refuse reads or clears, and writes slowly so that
    /// concurrent copies overlap.
    #[derive(Clone, Default)]
    struct Fake {
        content: Arc<Mutex<Option<String>>>,
        fail_reads: Arc<AtomicBool>,
        failing_clears: Arc<AtomicUsize>,
    }

    impl Fake {
        fn content(&self) -> Option<String> {
            self.content.lock().unwrap().clone()
        }

        fn clipboard(&self) -> Arc<SecretClipboard> {
            let fake = self.clone();
            Arc::new(SecretClipboard::with_opener(Box::new(move || {
                Ok(Box::new(fake.clone()) as Box<dyn Board>)
            })))
        }
    }

    impl Board for Fake {
        fn set_secret(&mut self, text: &str) -> Result<(), String> {
            std::thread::sleep(Duration::from_micros(200));
            *self.content.lock().unwrap() = Some(text.into());
            Ok(())
        }
        fn set_plain(&mut self, text: &str) -> Result<(), String> {
            self.set_secret(text)
        }
        fn get_text(&mut self) -> Result<String, String> {
            if self.fail_reads.load(Ordering::SeqCst) {
                return Err("unreadable".into());
            }
            self.content().ok_or_else(|| "empty".into())
        }
        fn clear(&mut self) -> Result<(), String> {
            let failing = self.failing_clears.load(Ordering::SeqCst);
            if failing > 0 {
                self.failing_clears.store(failing - 1, Ordering::SeqCst);
                return Err("busy".into());
            }
            *self.content.lock().unwrap() = None;
            Ok(())
        }
    }

    #[test]
    fn two_quick_copies_leave_no_token_behind() {
        for round in 0..50 {
            let fake = Fake::default();
            let clipboard = fake.clipboard();
            let barrier = Arc::new(std::sync::Barrier::new(2));
            let copies: Vec<_> = ["first", "second"]
                .into_iter()
                .map(|token| {
                    let (clipboard, barrier) = (Arc::clone(&clipboard), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        clipboard.copy(format!("{token}-{round}")).unwrap()
                    })
                })
                .collect();
            let generations: Vec<u64> = copies.into_iter().map(|t| t.join().unwrap()).collect();
            assert!(fake.content().is_some());
            // Each copy's timer fires; whichever wrote last, its token is cleared.
            for g in generations {
                assert_eq!(clipboard.clear_once(Some(g)), Clear::Done);
            }
            assert_eq!(fake.content(), None, "round {round}");
        }
    }

    /// A fake board, the secret clipboard on it, and the generation of a token copied to it.
    fn with_a_copied_token() -> (Fake, Arc<SecretClipboard>, u64) {
        let fake = Fake::default();
        let clipboard = fake.clipboard();
        let g = clipboard.copy("token".into()).unwrap();
        (fake, clipboard, g)
    }

    #[test]
    fn an_unreadable_clipboard_is_cleared_all_the_same() {
        let (fake, clipboard, g) = with_a_copied_token();
        fake.fail_reads.store(true, Ordering::SeqCst);
        assert_eq!(clipboard.clear_once(Some(g)), Clear::Done);
        assert_eq!(fake.content(), None);
    }

    #[test]
    fn a_failed_clear_is_retried_until_it_works() {
        let (fake, clipboard, g) = with_a_copied_token();
        fake.fail_reads.store(true, Ordering::SeqCst);
        fake.failing_clears.store(3, Ordering::SeqCst);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(Arc::clone(&clipboard).clear_later(
                g,
                Duration::ZERO,
                Duration::from_millis(1),
            ));
        assert_eq!(fake.content(), None);
        assert_eq!(fake.failing_clears.load(Ordering::SeqCst), 0);
        assert_eq!(clipboard.clear_once(None), Clear::Done, "nothing left");
    }

    #[test]
    fn what_the_user_copied_since_is_left_alone() {
        let (fake, clipboard, g) = with_a_copied_token();
        *fake.content.lock().unwrap() = Some("mine".into());
        assert_eq!(clipboard.clear_once(Some(g)), Clear::Done);
        assert_eq!(fake.content().as_deref(), Some("mine"));
        // Nor plain text Latchkey copied after the secret, even unreadable.
        let g = clipboard.copy("token".into()).unwrap();
        clipboard.copy_plain("https://as.example/".into()).unwrap();
        fake.fail_reads.store(true, Ordering::SeqCst);
        assert_eq!(clipboard.clear_once(Some(g)), Clear::Done);
        assert_eq!(fake.content().as_deref(), Some("https://as.example/"));
    }

    #[test]
    fn an_older_timer_leaves_a_newer_copy_to_its_own() {
        let fake = Fake::default();
        let clipboard = fake.clipboard();
        let first = clipboard.copy("one".into()).unwrap();
        let second = clipboard.copy("two".into()).unwrap();
        assert_eq!(clipboard.clear_once(Some(first)), Clear::Done);
        assert_eq!(fake.content().as_deref(), Some("two"));
        clipboard.clear_if_ours(Some(second));
        assert_eq!(fake.content(), None);
    }
}
