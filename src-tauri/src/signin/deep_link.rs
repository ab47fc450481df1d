//! `latchkey://` links: the answers of deep-link sign-ins, and everything else they may carry.

use latchkey::AuthorizationResponse;
use latchkey::protocol::callback::parse_fragment;
use tauri::{AppHandle, Manager};
use url::Url;

use super::pending::{Answer, finish};
use super::registry::{SignIns, Waiting, timed_out};
use crate::dto::{ErrorDto, ErrorKindDto, SignInEvent};
use crate::events::notify;

fn rejected(message: impl Into<String>) -> SignInEvent {
    SignInEvent::Rejected {
        error: ErrorDto::new(ErrorKindDto::SignIn, message),
    }
}

/// Reads a `latchkey://callback` URL: the query of a code-flow answer, or the fragment of an
/// implicit one. `None` when it carries neither (a probe, a bookmark).
fn answer_of(url: &Url) -> Option<Result<Answer, String>> {
    match url.fragment().filter(|f| !f.is_empty()) {
        Some(fragment) => Some(parse_fragment(fragment).map(Answer::Fragment)),
        None => AuthorizationResponse::from_url(url).map(|r| Ok(Answer::Query(r))),
    }
}
/// Decides what a `latchkey://` URL does. Never logs the URL: it may carry a code or a token.
pub fn handle_url(app: &AppHandle, url: &Url) {
    if url.scheme() != "latchkey" {
        return;
    }
    if url.host_str() != Some("callback") {
        notify(
            app,
            rejected("Latchkey was opened with a link it does not know. Nothing was changed."),
        );
        return;
    }
    let answer = match answer_of(url) {
        Some(Ok(answer)) => answer,
        Some(Err(detail)) => {
            notify(
                app,
                rejected(format!(
                    "A sign-in link arrived that Latchkey cannot read ({detail}). Nothing was changed."
                )),
            );
            return;
        }
        None => {
            notify(
                app,
                rejected(
                    "A sign-in link arrived without an authorization code, a token or an error. Nothing was changed.",
                ),
            );
            return;
        }
    };
    let signins = app.state::<SignIns>();
    let mut entries = signins.lock();
    if entries.is_empty() {
        drop(entries);
        notify(
            app,
            rejected(
                "No sign-in in progress: a sign-in link arrived, but Latchkey did not start a sign-in in this session. Nothing was changed; start the sign-in from Latchkey.",
            ),
        );
        return;
    }
    let found = entries.iter().position(|e| {
        matches!(e.waiting, Waiting::DeepLink(_)) && Some(e.state.as_str()) == answer.state()
    });
    let not_ours = || {
        rejected(
            "A sign-in link arrived that does not match the sign-in in progress (unknown or already used state). It was ignored and nothing was changed; the sign-in in progress is still waiting.",
        )
    };
    let Some(pos) = found else {
        drop(entries);
        notify(app, not_ours());
        return;
    };
    let mut entry = entries.remove(pos);
    let Waiting::DeepLink(pending) = entry.waiting else {
        unreachable!("matched a deep-link entry")
    };
    let completion = match pending.complete(answer) {
        Ok(completion) => completion,
        // The right state in the wrong form: the sign-in in progress keeps waiting.
        Err(pending) => {
            entry.waiting = Waiting::DeepLink(pending);
            entries.insert(pos, entry);
            drop(entries);
            notify(app, not_ours());
            return;
        }
    };
    drop(entries);
    if let Some(task) = entry.task {
        task.abort();
    }
    let id = entry.id;
    if latchkey::model::tokens::now() > entry.deadline {
        notify(
            app,
            SignInEvent::Failed {
                id,
                error: timed_out(&entry.profile),
            },
        );
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let event = finish(&app, id, completion).await;
        notify(&app, event);
    });
}
