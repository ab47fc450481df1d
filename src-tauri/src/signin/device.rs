//! A device flow sign-in (RFC 8628): a code to enter on any device, a task that polls.

use tauri::{AppHandle, Manager};
use tauri_plugin_opener::OpenerExt;

use super::registry::{Entry, SignIns, Waiting};
use crate::dto::{AccountDto, DeviceSignInStarted, ErrorDto, ErrorKindDto, SignInEvent};
use crate::events::notify;
use crate::state::AppState;

/// Starts a device flow sign-in. A task polls at the server's interval until the user
/// approved, denied, or the code expired, and reports on the `sign-in` event. Starting it
/// cancels any other sign-in in progress.
pub async fn begin_device(
    app: &AppHandle,
    profile_name: &str,
) -> Result<DeviceSignInStarted, ErrorDto> {
    let engine = app.state::<AppState>().engine()?;
    let name = profile_name.to_string();
    let pending = engine.clone().begin_device_login(&name, None).await?;
    let signins = app.state::<SignIns>();
    let id = signins.start();
    let expires_at = latchkey::model::tokens::now() + pending.expires_in.as_secs() as i64;
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
        let result = tokio::select! {
            r = engine.complete_device_login(pending, lifetime) => r.map(Some),
            _ = stopped => Ok(None),
        }
        .map_err(ErrorDto::from);
        if app2.state::<SignIns>().take(id).is_none() {
            return;
        }
        let event = match result {
            Ok(Some(account)) => SignInEvent::Completed {
                id,
                account: AccountDto::from(&account),
            },
            Ok(None) => return,
            Err(error) => SignInEvent::Failed { id, error },
        };
        notify(&app2, event);
    });
    signins.lock().push(Entry {
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
    let page = {
        let signins = app.state::<SignIns>();
        let entries = signins.lock();
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
