//! The sign-ins in progress: what each waits for, its deadline, the task that waits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tauri::async_runtime::JoinHandle;
use url::Url;

use super::pending::Pending;
use crate::dto::{ErrorDto, ErrorKindDto};

/// How long a sign-in waits for the browser (the engine's loopback default).
pub fn timeout() -> Duration {
    std::env::var("LATCHKEY_SIGN_IN_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(latchkey::protocol::callback::DEFAULT_TIMEOUT)
}

pub fn timed_out(profile: &str) -> ErrorDto {
    ErrorDto::new(
        ErrorKindDto::SignIn,
        format!(
            "The sign-in for `{profile}` timed out: no answer came back from the browser within {} minutes. Start it again.",
            timeout().as_secs() / 60
        ),
    )
}

pub enum Waiting {
    /// The browser will come back through `latchkey://callback`.
    DeepLink(Pending),
    /// A loopback listener task owns the pending login.
    Loopback,
    /// A device flow: a task polls the token endpoint until the user approved the code.
    Device { page: Option<Url> },
}

pub struct Entry {
    pub id: u32,
    pub state: String,
    pub profile: String,
    pub deadline: i64,
    pub waiting: Waiting,
    pub task: Option<JoinHandle<()>>,
}

/// Tauri-managed state: the sign-ins this instance started.
#[derive(Default)]
pub struct SignIns {
    next_id: AtomicU32,
    entries: Mutex<Vec<Entry>>,
}

impl SignIns {
    pub fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels every other sign-in (one at a time) and gives the id of the next one.
    pub fn start(&self) -> u32 {
        for entry in self.lock().drain(..) {
            if let Some(task) = entry.task {
                task.abort();
            }
        }
        self.next_id.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Removes the entry `id`, stopping its task. Returns whether it existed.
    pub fn cancel(&self, id: u32) -> bool {
        match self.take(id) {
            Some(entry) => {
                if let Some(task) = entry.task {
                    task.abort();
                }
                true
            }
            None => false,
        }
    }

    /// Removes the entry `id` and hands it over (its task keeps running).
    pub fn take(&self, id: u32) -> Option<Entry> {
        let mut entries = self.lock();
        let pos = entries.iter().position(|e| e.id == id)?;
        Some(entries.remove(pos))
    }
}
