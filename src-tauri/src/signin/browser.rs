//! A browser sign-in: the authorization code flow or the legacy implicit grant, answered
//! through the loopback listener or a `latchkey://` deep link.

use latchkey::{LoopbackListener, RedirectMode};
use tauri::{AppHandle, Manager};
use tauri_plugin_opener::OpenerExt;

use super::pending::{Completion, Pending, finish};
use super::registry::{Entry, SignIns, Waiting, timed_out, timeout};
use crate::dto::{ErrorDto, SignInEvent, SignInStarted};
use crate::events::notify;
use crate::state::AppState;

/// Starts a sign-in: binds the loopback listener or waits for the deep link, opens the browser.
/// Starting one cancels any other in progress (one browser round-trip at a time). `implicit`
/// uses the legacy implicit grant, which the engine refuses unless the profile opted in.
/// `account`: the label to sign in as.
pub async fn begin(
    app: &AppHandle,
    profile_name: &str,
    implicit: bool,
    account: Option<String>,
) -> Result<SignInStarted, ErrorDto> {
    let account = account.filter(|a| !a.trim().is_empty());
    let engine = app.state::<AppState>().engine()?;
    let profile = engine.profile(profile_name)?;
    if !implicit {
        // Before the browser: a missing secret (an imported profile) would fail only at the
        // code exchange.
        engine.require_client_secret(&profile).await?;
    }
    let listener = match profile.redirect {
        RedirectMode::DeepLink => None,
        RedirectMode::Loopback => {
            let listener = LoopbackListener::bind(profile.redirect_uri.as_ref()).await?;
            // A refused response shows at once, in the sign-in screen.
            Some(listener.with_notices(engine.notice_hook()))
        }
    };
    let redirect = match &listener {
        Some(l) => l.redirect_uri().clone(),
        None => latchkey::Latchkey::deep_link_redirect(&profile),
    };
    let pending = if implicit {
        let p = engine.begin_implicit_login(&profile.name, account.clone(), redirect)?;
        Pending::Implicit(Box::new(p))
    } else {
        let p = engine
            .begin_login(&profile.name, account.clone(), redirect)
            .await?;
        Pending::Code(Box::new(p))
    };
    let authorization_url = pending.request().authorization_url.to_string();
    let redirect_uri = pending.request().redirect_uri.to_string();
    let signins = app.state::<SignIns>();
    let id = signins.start();
    let deadline = latchkey::model::tokens::now() + timeout().as_secs() as i64;
    let state_param = pending.state().to_string();
    let (waiting, task) = match listener {
        None => (Waiting::DeepLink(pending), expire_later(app.clone(), id)),
        Some(listener) => {
            let task = wait_on_loopback(app.clone(), id, listener, pending, profile.name.clone());
            (Waiting::Loopback, task)
        }
    };
    signins.lock().push(Entry {
        id,
        state: state_param,
        profile: profile.name.clone(),
        deadline,
        waiting,
        task: Some(task),
    });

    let browser_opened = app
        .opener()
        .open_url(authorization_url.clone(), None::<&str>)
        .is_ok();
    Ok(SignInStarted {
        id,
        profile: profile.name.clone(),
        account,
        implicit,
        redirect_mode: profile.redirect,
        redirect_uri,
        authorization_url,
        browser_opened,
        expires_at: deadline,
    })
}

/// The timeout of a deep-link sign-in: drop it, say so.
fn expire_later(app: AppHandle, id: u32) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(timeout()).await;
        let entry = app.state::<SignIns>().take(id);
        if let Some(entry) = entry {
            let error = timed_out(&entry.profile);
            notify(&app, SignInEvent::Failed { id, error });
        }
    })
}

/// Waits for the browser on the loopback listener, then finishes the sign-in.
fn wait_on_loopback(
    app: AppHandle,
    id: u32,
    listener: LoopbackListener,
    pending: Pending,
    profile: String,
) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        let expected_state = pending.state().to_string();
        let completion = match pending {
            Pending::Code(p) => listener
                .wait(&profile, &expected_state, timeout())
                .await
                .map(|r| Completion::Code(p, r)),
            Pending::Implicit(p) => listener
                .wait_fragment(&profile, &expected_state, timeout())
                .await
                .map(|f| Completion::Implicit(p, f)),
        };
        // Cancelled meanwhile: the entry is gone, and so is this sign-in.
        if app.state::<SignIns>().take(id).is_none() {
            return;
        }
        let event = match completion {
            Ok(completion) => finish(&app, id, completion).await,
            Err(e) => SignInEvent::Failed {
                id,
                error: e.into(),
            },
        };
        notify(&app, event);
    })
}
