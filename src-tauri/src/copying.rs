//! Copying a token: one path for the window's buttons and the tray's menu, so both refresh
//! the same way, mark the clipboard entry as a secret, clear it later and write the history.

use latchkey::door::{Arrival, Caller, Door, Purpose, Request};
use tauri::{AppHandle, Emitter, Manager};

use crate::clipboard::clear_after_secs;
use crate::dto::{AccountDto, CopyResult, CopyWhat, ErrorDto, ErrorKindDto};
use crate::state::AppState;

/// Where in the app the copy was asked for (noted in the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopiedFrom {
    Window,
    Tray,
}

/// A copy made from the tray, told to the window so it shows the clipboard's countdown.
pub const TRAY_COPY: &str = "tray-copy";

pub async fn copy_secret(
    state: &AppState,
    account: String,
    what: CopyWhat,
    from: CopiedFrom,
) -> Result<CopyResult, ErrorDto> {
    let engine = state.engine()?;
    let arrival = match from {
        CopiedFrom::Window => Arrival::Window,
        CopiedFrom::Tray => Arrival::Tray,
    };
    // Through the door like every hand-out: a click is the user's own act, recorded there and
    // never asked about.
    let (acct, value) = match what {
        CopyWhat::AccessToken | CopyWhat::AuthorizationHeader => {
            let request = Request {
                account,
                purpose: Purpose::Copy,
                min_valid: 60,
                caller: Caller::app(arrival),
                proof: None,
            };
            let handed = Door::new(engine.clone()).hand_out(request).await?;
            let acct = engine.account(&handed.account).map_err(ErrorDto::from)?;
            let token = handed.access_token.as_str();
            let value = if what == CopyWhat::AuthorizationHeader {
                format!("Authorization: {} {token}", handed.scheme())
            } else {
                token.to_string()
            };
            (acct, value)
        }
        CopyWhat::RefreshToken => {
            let (acct, token) = Door::new(engine)
                .refresh_token_by_hand(&account, Caller::app(arrival))
                .await?;
            let Some(rt) = token else {
                return Err(ErrorDto::new(
                    ErrorKindDto::NotFound,
                    format!(
                        "`{}` has no refresh token: the provider did not issue one.",
                        acct.id()
                    ),
                ));
            };
            (acct, rt.to_string())
        }
    };
    let clipboard = state.clipboard.clone();
    let concealed = tauri::async_runtime::spawn_blocking(move || clipboard.copy_secret(value))
        .await
        .map_err(|e| ErrorDto::new(ErrorKindDto::Other, e.to_string()))?
        .map_err(|e| ErrorDto::new(ErrorKindDto::Other, e))?;
    Ok(CopyResult {
        what,
        clears_in_secs: clear_after_secs(),
        concealed,
        account: AccountDto::from(&acct),
    })
}

/// The tray's copy of an account's access token. A failure becomes a desktop notification
/// (the window may be hidden); one that needs a sign-in offers it.
pub async fn copy_from_tray(app: AppHandle, account: String) {
    let state = app.state::<AppState>();
    let result = copy_secret(
        &state,
        account.clone(),
        CopyWhat::AccessToken,
        CopiedFrom::Tray,
    )
    .await;
    crate::accounts_changed::accounts_changed(&app);
    match result {
        Ok(copied) => {
            let _ = app.emit(TRAY_COPY, copied);
        }
        Err(e) if e.kind == ErrorKindDto::NeedsSignIn => {
            crate::notify::needs_sign_in(&app, &account, &e.message);
        }
        Err(e) => crate::notify::copy_failed(&app, &account, &e.message),
    }
}
