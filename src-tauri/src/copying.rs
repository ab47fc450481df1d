//! Copying a token: one path for the window's buttons and the tray's menu, so both refresh
//! the same way, mark the clipboard entry as a secret, clear it later and write the history.

use tauri::{AppHandle, Emitter, Manager};

use crate::bridge::on_engine;
use crate::clipboard::clear_after_secs;
use crate::dto::{AccountDto, CopyResult, CopyWhat, ErrorDto, ErrorKindDto};
use crate::state::AppState;

/// Where in the app the copy was asked for (noted in the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopiedFrom {
    Window,
    Tray,
}

impl CopiedFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            CopiedFrom::Window => "window",
            CopiedFrom::Tray => "tray",
        }
    }
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
    let (acct, value) = match what {
        CopyWhat::AccessToken | CopyWhat::AuthorizationHeader => {
            let (acct, tokens) =
                on_engine(engine, move |e| async move { e.token(&account, 60).await }).await?;
            let token = tokens.access_token.secret().clone();
            let value = if what == CopyWhat::AuthorizationHeader {
                format!("Authorization: Bearer {token}")
            } else {
                token
            };
            (acct, value)
        }
        CopyWhat::RefreshToken => {
            let (acct, tokens) =
                on_engine(
                    engine,
                    move |e| async move { e.stored_tokens(&account).await },
                )
                .await?;
            let Some(rt) = tokens.refresh_token else {
                return Err(ErrorDto::new(
                    ErrorKindDto::NotFound,
                    format!(
                        "`{}` has no refresh token: the provider did not issue one.",
                        acct.id()
                    ),
                ));
            };
            (acct, rt.secret().clone())
        }
    };
    // Who took which token: the app itself, by the user's hand.
    if let Err(e) = latchkey::store::history::record_app_copy(&acct.id(), from.as_str()) {
        eprintln!("latchkey: the token was copied, but not recorded in the history: {e}");
    }
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
