//! The app's answer to "ask": when an access rule says ask, the door puts the question here
//! (the app serves the agent socket). Each question gets an id and waits with its answer's
//! sender; the window is brought forward (built again when it was closed) and shown the
//! question once its page listens; the user's click comes back as `answer_access`. Only a
//! question still waiting can be answered: an id the app did not hand out, or one already
//! answered or given up, is refused. Unanswered questions go after the door's wait
//! ([`ANSWER_WITHIN`]): their sender is dropped, and the page is told they are gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use latchkey::door::ask::{ANSWER_WITHIN, Asking};
use latchkey::door::{Answer, Asker, Question};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};
use tokio::sync::oneshot;
use ts_rs::TS;

use crate::error_dto::{ErrorDto, ErrorKindDto};

/// A question for the window.
pub const ASKED: &str = "access-asked";
/// A question no longer waits (answered, or given up after the door's wait).
pub const GONE: &str = "access-gone";

/// What the window shows: the program and the account come from other programs (text only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccessQuestionDto {
    pub id: u32,
    /// `profile/label`.
    pub account: String,
    /// The program's path (or `serve:NAME`), as rules name it.
    pub program: String,
    pub pid: Option<u32>,
    /// What the token is for: `token`, `refresh`, `exec`, `git`, `kube`, …
    pub purpose: String,
    /// How the request arrived: `agent`, `forwarded`, …
    pub arrival: String,
}

/// The user's answer, as the window sends it: the door's own type (TypeScript generated).
pub use latchkey::door::Answer as AccessAnswerDto;

/// The questions waiting for an answer, by id.
#[derive(Default)]
pub struct Pending {
    next: u32,
    waiting: HashMap<u32, oneshot::Sender<Answer>>,
}

impl Pending {
    /// Keeps `answer` under a new id.
    pub fn add(&mut self, answer: oneshot::Sender<Answer>) -> u32 {
        self.next = self.next.wrapping_add(1).max(1);
        while self.waiting.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1).max(1);
        }
        self.waiting.insert(self.next, answer);
        self.next
    }

    /// Answers question `id`: false when no such question waits (never asked, answered or given
    /// up), or the door stopped waiting for it.
    pub fn answer(&mut self, id: u32, answer: Answer) -> bool {
        match self.waiting.remove(&id) {
            Some(sender) => sender.send(answer).is_ok(),
            None => false,
        }
    }

    /// Gives up on question `id` (its sender is dropped: no answer); whether it still waited.
    pub fn drop_question(&mut self, id: u32) -> bool {
        self.waiting.remove(&id).is_some()
    }
}

/// Tauri-managed (as `Arc<AppAsker>`), and the agent's asker.
pub struct AppAsker {
    app: AppHandle,
    pending: Arc<Mutex<Pending>>,
}

impl AppAsker {
    pub fn new(app: AppHandle) -> Self {
        AppAsker {
            app,
            pending: Arc::default(),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Asker for AppAsker {
    fn ask(&self, question: Question) -> Asking {
        let (sender, receiver) = oneshot::channel();
        let id = self.pending().add(sender);
        let dto = AccessQuestionDto {
            id,
            account: question.account,
            program: question.program,
            pid: question.pid,
            purpose: question.purpose.as_str().into(),
            arrival: question.arrival,
        };
        // Given up with the door: the sender goes, and the page forgets the question.
        let (pending, app) = (self.pending.clone(), self.app.clone());
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(ANSWER_WITHIN).await;
            let waited = pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drop_question(id);
            if waited {
                let _ = app.emit(GONE, id);
            }
        });
        // Tauri's window calls belong on the main thread.
        let app = self.app.clone();
        let shown = self.app.run_on_main_thread(move || {
            crate::window::focus_main(&app);
            crate::events::when_loaded(&app, move |app| {
                let _ = app.emit(ASKED, dto);
            });
        });
        if let Err(e) = shown {
            eprintln!("latchkey: cannot show the access question: {e}");
            self.pending().drop_question(id);
            return Box::pin(std::future::ready(None));
        }
        Box::pin(std::future::ready(Some(receiver)))
    }
}

/// The user answered question `id` in the window. Only a question that waits can be answered.
#[tauri::command]
pub fn answer_access(
    id: u32,
    answer: AccessAnswerDto,
    app: AppHandle,
    asker: State<'_, Arc<AppAsker>>,
) -> Result<(), ErrorDto> {
    let answered = asker.pending().answer(id, answer);
    let _ = app.emit(GONE, id);
    if answered {
        Ok(())
    } else {
        Err(ErrorDto::new(
            ErrorKindDto::Other,
            "This question no longer waits for an answer.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_waiting_question_is_answered_once() {
        let mut pending = Pending::default();
        let (sender, mut receiver) = oneshot::channel();
        let id = pending.add(sender);
        assert!(!pending.answer(id + 1, Answer::AllowOnce), "an unknown id");
        assert!(pending.answer(id, Answer::Deny));
        assert_eq!(receiver.try_recv().unwrap(), Answer::Deny);
        assert!(!pending.answer(id, Answer::AllowOnce), "answered already");
    }

    #[test]
    fn a_dropped_question_has_no_answer() {
        let mut pending = Pending::default();
        let (sender, mut receiver) = oneshot::channel();
        let id = pending.add(sender);
        assert!(pending.drop_question(id));
        assert!(receiver.try_recv().is_err());
        assert!(!pending.answer(id, Answer::AllowOnce));
        assert!(!pending.drop_question(id));
    }

    #[test]
    fn ids_are_distinct() {
        let mut pending = Pending::default();
        let a = pending.add(oneshot::channel().0);
        let b = pending.add(oneshot::channel().0);
        assert_ne!(a, b);
    }
}
