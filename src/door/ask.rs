//! Asking the user whether a program may take a token. The question goes to the user, never to
//! the program that asked: the desktop app's prompt (src-tauri/src/asking.rs), or the headless
//! agent's desktop notification (src/agent/asking.rs).
//! Front ends supply the [`Asker`]; the door waits for the answer.

use tokio::sync::oneshot;

use super::purpose::Purpose;

/// How long an unanswered question waits before the token is refused.
pub const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// What the user is asked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Question {
    pub account: String,
    /// The program as rules name it (its path, or `serve:NAME`).
    pub program: String,
    pub pid: Option<u32>,
    pub purpose: Purpose,
    /// How the request arrived (`agent`, `forwarded`, …), with where from when known.
    pub arrival: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "AccessAnswerDto"))]
pub enum Answer {
    AllowOnce,
    /// Allowed, and an allow rule for this program and account that lasts an hour.
    AllowForAnHour,
    /// Allowed, and an allow rule for this program and account.
    AlwaysAllow,
    /// Refused, and a deny rule for this program and account.
    Deny,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::AllowOnce => "allow once",
            Answer::AllowForAnHour => "allow for an hour",
            Answer::AlwaysAllow => "always allow",
            Answer::Deny => "deny",
        }
    }
}

/// A question being put: the receiver its answer will come on (dropped unanswered: no
/// answer), or `None` when nobody can be asked now (the door refuses at once). A future, so
/// that finding out whom to ask (a desktop service on the bus) never blocks the runtime.
pub type Asking = std::pin::Pin<Box<dyn Future<Output = Option<oneshot::Receiver<Answer>>> + Send>>;

/// Someone who can put a question to the user.
pub trait Asker: Send + Sync {
    /// Puts `question` to the user.
    fn ask(&self, question: Question) -> Asking;
}
