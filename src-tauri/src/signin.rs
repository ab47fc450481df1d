//! Sign-ins in progress, and the callbacks that finish them.
//!
//! A deep-link callback is accepted only when its `state` matches a sign-in this instance
//! started and whose timeout has not passed. Anything else — an unknown or reused state, a link
//! without code or error, a link arriving on a cold start — is reported as `rejected` and
//! changes nothing: the sign-in in progress (if any) keeps waiting.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use latchkey::callback::parse_fragment;
use latchkey::{
    AuthorizationResponse, LoopbackListener, PendingImplicitLogin, PendingLogin, RedirectMode,
};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_opener::OpenerExt;
use url::Url;

use crate::dto::{
    AccountDto, DeviceSignInStarted, ErrorDto, ErrorKindDto, SignInEvent, SignInStarted,
};
use crate::state::AppState;

pub const EVENT: &str = "sign-in";

/// How long a sign-in waits for the browser (the engine's loopback default).
pub fn timeout() -> Duration {
    std::env::var("LATCHKEY_SIGN_IN_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(latchkey::callback::DEFAULT_TIMEOUT)
}

/// A browser sign-in between its request and the redirect: the authorization code flow, or the
/// legacy implicit grant (opted in per profile).
enum Pending {
    Code(Box<PendingLogin>),
    Implicit(Box<PendingImplicitLogin>),
}

impl Pending {
    fn state(&self) -> &str {
        match self {
            Pending::Code(p) => p.state(),
            Pending::Implicit(p) => p.state(),
        }
    }
}

/// What came back through the browser: a query (code flow) or a fragment (implicit).
enum Answer {
    Query(AuthorizationResponse),
    Fragment(BTreeMap<String, String>),
}

/// A pending sign-in with the answer of its own kind, ready for the engine to finish.
enum Completion {
    Code(Box<PendingLogin>, AuthorizationResponse),
    Implicit(Box<PendingImplicitLogin>, BTreeMap<String, String>),
}

impl Pending {
    /// Pairs the sign-in with `answer` when it is of its kind: a code flow reads the query, an
    /// implicit one the fragment. Gives the sign-in back otherwise.
    fn complete(self, answer: Answer) -> Result<Completion, Pending> {
        match (self, answer) {
            (Pending::Code(p), Answer::Query(r)) => Ok(Completion::Code(p, r)),
            (Pending::Implicit(p), Answer::Fragment(f)) => Ok(Completion::Implicit(p, f)),
            (pending, _) => Err(pending),
        }
    }
}

enum Waiting {
    /// The browser will come back through `latchkey://callback`.
    DeepLink(Pending),
    /// A loopback listener task owns the pending login.
    Loopback,
    /// A device flow: a task polls the token endpoint until the user approved the code.
    Device { page: Option<Url> },
}

struct Entry {
    id: u32,
    state: String,
    profile: String,
    deadline: i64,
    waiting: Waiting,
    task: Option<JoinHandle<()>>,
}

#[derive(Default)]
pub struct SignIns {
    next_id: AtomicU32,
    entries: Mutex<Vec<Entry>>,
}

impl SignIns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes the entry `id`, stopping its task. Returns whether it existed.
    pub fn cancel(&self, id: u32) -> bool {
        let mut entries = self.lock();
        let Some(pos) = entries.iter().position(|e| e.id == id) else {
            return false;
        };
        let entry = entries.remove(pos);
        if let Some(task) = entry.task {
            task.abort();
        }
        true
    }

    fn cancel_all(&self) {
        for entry in self.lock().drain(..) {
            if let Some(task) = entry.task {
                task.abort();
            }
        }
    }

    fn take(&self, id: u32) -> Option<Entry> {
        let mut entries = self.lock();
        let pos = entries.iter().position(|e| e.id == id)?;
        Some(entries.remove(pos))
    }
}

pub fn now() -> i64 {
    latchkey::tokens::now()
}

/// Sends an event to the window, or keeps it until the window has loaded.
pub fn notify(app: &AppHandle, event: SignInEvent) {
    let state = app.state::<AppState>();
    let mut queued = state.queued.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(queue) = queued.as_mut() {
        queue.push(event);
        return;
    }
    drop(queued);
    let _ = app.emit(EVENT, event);
    focus_main(app);
}

pub fn focus_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

fn timed_out(profile: &str) -> ErrorDto {
    ErrorDto::new(
        ErrorKindDto::SignIn,
        format!(
            "The sign-in for `{profile}` timed out: no answer came back from the browser within {} minutes. Start it again.",
            timeout().as_secs() / 60
        ),
    )
}

/// Starts a sign-in: binds the loopback listener or waits for the deep link, opens the browser.
/// Starting one cancels any other in progress (one browser round-trip at a time). `implicit`
/// uses the legacy implicit grant, which the engine refuses unless the profile opted in.
pub async fn begin(
    app: &AppHandle,
    profile_name: &str,
    implicit: bool,
) -> Result<SignInStarted, ErrorDto> {
    let state = app.state::<AppState>();
    let engine = state.engine()?;
    let profile = engine.profile(profile_name)?;
    let listener = match profile.redirect {
        RedirectMode::DeepLink => None,
        RedirectMode::Loopback => {
            Some(LoopbackListener::bind(profile.redirect_uri.as_ref()).await?)
        }
    };
    let redirect = match &listener {
        Some(l) => l.redirect_uri().clone(),
        None => latchkey::Latchkey::deep_link_redirect(&profile),
    };
    let (pending, authorization_url, redirect_uri) = if implicit {
        let p = engine.begin_implicit_login(&profile.name, None, redirect)?;
        let (url, uri) = (p.authorization_url.to_string(), p.redirect_uri.to_string());
        (Pending::Implicit(Box::new(p)), url, uri)
    } else {
        let p = engine.begin_login(&profile.name, None, redirect)?;
        let (url, uri) = (p.authorization_url.to_string(), p.redirect_uri.to_string());
        (Pending::Code(Box::new(p)), url, uri)
    };
    state.signins.cancel_all();
    let id = state.signins.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    let deadline = now() + timeout().as_secs() as i64;
    let state_param = pending.state().to_string();

    let entry = match listener {
        None => {
            // The timeout for a deep-link sign-in: drop it, say so.
            let app2 = app.clone();
            let task = tauri::async_runtime::spawn(async move {
                tokio::time::sleep(timeout()).await;
                let entry = app2.state::<AppState>().signins.take(id);
                if let Some(entry) = entry {
                    notify(
                        &app2,
                        SignInEvent::Failed {
                            id,
                            error: timed_out(&entry.profile),
                        },
                    );
                }
            });
            Entry {
                id,
                state: state_param,
                profile: profile.name.clone(),
                deadline,
                waiting: Waiting::DeepLink(pending),
                task: Some(task),
            }
        }
        Some(listener) => {
            let app2 = app.clone();
            let name = profile.name.clone();
            let expected_state = state_param.clone();
            let task = tauri::async_runtime::spawn(async move {
                let completion = match pending {
                    Pending::Code(p) => listener
                        .wait(&name, &expected_state, timeout())
                        .await
                        .map(|r| Completion::Code(p, r)),
                    Pending::Implicit(p) => listener
                        .wait_fragment(&name, &expected_state, timeout())
                        .await
                        .map(|f| Completion::Implicit(p, f)),
                };
                // Cancelled meanwhile: the entry is gone, and so is this sign-in.
                let still_waiting = app2.state::<AppState>().signins.take(id).is_some();
                if !still_waiting {
                    return;
                }
                let event = match completion {
                    Ok(completion) => finish(&app2, id, completion).await,
                    Err(e) => SignInEvent::Failed {
                        id,
                        error: e.into(),
                    },
                };
                notify(&app2, event);
            });
            Entry {
                id,
                state: state_param,
                profile: profile.name.clone(),
                deadline,
                waiting: Waiting::Loopback,
                task: Some(task),
            }
        }
    };
    state.signins.lock().push(entry);

    let browser_opened = app
        .opener()
        .open_url(authorization_url.clone(), None::<&str>)
        .is_ok();
    Ok(SignInStarted {
        id,
        profile: profile.name.clone(),
        implicit,
        redirect_mode: profile.redirect.into(),
        redirect_uri,
        authorization_url,
        browser_opened,
        expires_at: deadline,
    })
}

/// Starts a device flow sign-in (RFC 8628). A task polls at the server's interval until the
/// user approved, denied, or the code expired, and reports on the `sign-in` event. Starting it
/// cancels any other sign-in in progress.
pub async fn begin_device(
    app: &AppHandle,
    profile_name: &str,
) -> Result<DeviceSignInStarted, ErrorDto> {
    let state = app.state::<AppState>();
    let engine = state.engine()?;
    let name = profile_name.to_string();
    let pending = crate::commands::on_engine(engine.clone(), move |e| async move {
        Ok(e.begin_device_login(&name, None).await?)
    })
    .await?;
    state.signins.cancel_all();
    let id = state.signins.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    let expires_at = now() + pending.expires_in.as_secs() as i64;
    let page = pending.browser_url();
    let started = DeviceSignInStarted {
        id,
        profile: pending.profile.name.clone(),
        user_code: pending.user_code.clone(),
        verification_uri: pending.verification_uri.clone(),
        verification_uri_complete: pending.verification_uri_complete.clone(),
        can_open: page.is_some(),
        expires_at,
    };
    let app2 = app.clone();
    let lifetime = pending.expires_in;
    let task = tauri::async_runtime::spawn(async move {
        // Dropped when this task is aborted (cancel): the poller then stops at once.
        let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let result = tauri::async_runtime::spawn_blocking(move || {
            tauri::async_runtime::block_on(async move {
                tokio::select! {
                    r = engine.complete_device_login(pending, lifetime) => Some(r),
                    _ = stopped => None,
                }
            })
        })
        .await;
        let still_waiting = app2.state::<AppState>().signins.take(id).is_some();
        if !still_waiting {
            return;
        }
        let event = match result {
            Ok(Some(Ok(account))) => SignInEvent::Completed {
                id,
                account: AccountDto::from(&account),
            },
            Ok(Some(Err(e))) => SignInEvent::Failed {
                id,
                error: e.into(),
            },
            Ok(None) => return,
            Err(e) => SignInEvent::Failed {
                id,
                error: ErrorDto::new(ErrorKindDto::Other, format!("the sign-in task failed: {e}")),
            },
        };
        notify(&app2, event);
    });
    state.signins.lock().push(Entry {
        id,
        state: String::new(),
        profile: started.profile.clone(),
        deadline: expires_at,
        waiting: Waiting::Device { page },
        task: Some(task),
    });
    Ok(started)
}

/// Opens the verification page of device sign-in `id` in the browser.
pub fn open_device_page(app: &AppHandle, id: u32) -> Result<bool, ErrorDto> {
    let state = app.state::<AppState>();
    let page = {
        let entries = state.signins.lock();
        let entry = entries.iter().find(|e| e.id == id).ok_or_else(|| {
            ErrorDto::new(
                ErrorKindDto::SignIn,
                "This sign-in is no longer in progress; start it again.",
            )
        })?;
        match &entry.waiting {
            Waiting::Device { page } => page.clone(),
            _ => None,
        }
    };
    let Some(page) = page else {
        return Ok(false);
    };
    Ok(app.opener().open_url(page.as_str(), None::<&str>).is_ok())
}

async fn finish(app: &AppHandle, id: u32, completion: Completion) -> SignInEvent {
    let engine = app.state::<AppState>().engine();
    let engine = match engine {
        Ok(e) => e,
        Err(error) => return SignInEvent::Failed { id, error },
    };
    // The engine's `complete_login` future is not `Send` for every lifetime (a rustc
    // limitation with borrowed clients in async code), so it runs on a blocking thread.
    let result = tauri::async_runtime::spawn_blocking(move || {
        tauri::async_runtime::block_on(async move {
            match completion {
                Completion::Code(p, r) => engine.complete_login(*p, r).await,
                Completion::Implicit(p, f) => engine.complete_implicit_login(*p, f).await,
            }
        })
    })
    .await;
    match result {
        Ok(Ok(account)) => SignInEvent::Completed {
            id,
            account: AccountDto::from(&account),
        },
        Ok(Err(e)) => SignInEvent::Failed {
            id,
            error: e.into(),
        },
        Err(e) => SignInEvent::Failed {
            id,
            error: ErrorDto::new(ErrorKindDto::Other, format!("the sign-in task failed: {e}")),
        },
    }
}

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

impl Answer {
    fn state(&self) -> Option<&str> {
        match self {
            Answer::Query(r) => r.state(),
            Answer::Fragment(f) => f.get("state").map(String::as_str),
        }
    }
}

/// Decides what a `latchkey://` URL does. Never logs the URL: it may carry a code or a token.
pub fn handle_url(app: &AppHandle, url: &Url) {
    if url.scheme() != "latchkey" {
        return;
    }
    let state = app.state::<AppState>();
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
    let mut entries = state.signins.lock();
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
    if now() > entry.deadline {
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
