//! A browser sign-in between its request and the redirect, the answer that came back, and the
//! engine call that finishes the two.

use crate::dto::ErrorDto;
use std::collections::BTreeMap;

use latchkey::{AuthorizationResponse, BrowserRequest, PendingImplicitLogin, PendingLogin};
use tauri::{AppHandle, Manager};

use crate::dto::{AccountDto, SignInEvent};
use crate::state::AppState;

/// The authorization code flow, or the legacy implicit grant (opted in per profile).
pub enum Pending {
    Code(Box<PendingLogin>),
    Implicit(Box<PendingImplicitLogin>),
}

/// What came back through the browser: a query (code flow) or a fragment (implicit).
pub enum Answer {
    Query(AuthorizationResponse),
    Fragment(BTreeMap<String, String>),
}

/// A pending sign-in with the answer of its own kind, ready for the engine to finish.
pub enum Completion {
    Code(Box<PendingLogin>, AuthorizationResponse),
    Implicit(Box<PendingImplicitLogin>, BTreeMap<String, String>),
}

impl Pending {
    /// What either grant's sign-in sent the browser to, and expects back.
    pub fn request(&self) -> &BrowserRequest {
        match self {
            Pending::Code(p) => &p.request,
            Pending::Implicit(p) => &p.request,
        }
    }

    pub fn state(&self) -> &str {
        self.request().state()
    }

    /// Pairs the sign-in with `answer` when it is of its kind: a code flow reads the query, an
    /// implicit one the fragment. Gives the sign-in back otherwise.
    pub fn complete(self, answer: Answer) -> Result<Completion, Pending> {
        match (self, answer) {
            (Pending::Code(p), Answer::Query(r)) => Ok(Completion::Code(p, r)),
            (Pending::Implicit(p), Answer::Fragment(f)) => Ok(Completion::Implicit(p, f)),
            (pending, _) => Err(pending),
        }
    }
}

impl Answer {
    pub fn state(&self) -> Option<&str> {
        match self {
            Answer::Query(r) => r.state(),
            Answer::Fragment(f) => f.get("state").map(String::as_str),
        }
    }
}

/// Has the engine check the answer, exchange or take the tokens and store the account.
pub async fn finish(app: &AppHandle, id: u32, completion: Completion) -> SignInEvent {
    let engine = match app.state::<AppState>().engine() {
        Ok(e) => e,
        Err(error) => return SignInEvent::Failed { id, error },
    };
    let result = match completion {
        Completion::Code(p, r) => engine.complete_login(*p, r).await,
        Completion::Implicit(p, f) => engine.complete_implicit_login(*p, f).await,
    }
    .map_err(ErrorDto::from);
    match result {
        Ok(account) => SignInEvent::Completed {
            id,
            account: AccountDto::from(&account),
        },
        Err(error) => SignInEvent::Failed { id, error },
    }
}
