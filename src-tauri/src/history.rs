//! An account's recent history in its details view (`latchkey::api::history`): who took its
//! tokens, how and when. The history holds no token; neither does what is sent to the window.

use latchkey::api::history::of_account;
use latchkey::store::history::Entry;

use crate::error_dto::{ErrorDto, ErrorKindDto};

/// How many entries the details view shows at most.
pub const SHOWN: usize = 50;

#[tauri::command]
pub async fn account_history(account: String) -> Result<Vec<Entry>, ErrorDto> {
    let entries = tauri::async_runtime::spawn_blocking(|| {
        latchkey::store::history::read(&latchkey::store::paths::state_dir()?)
    })
    .await
    .map_err(|e| ErrorDto::new(ErrorKindDto::Other, e.to_string()))??;
    Ok(of_account(&entries, &account, SHOWN))
}
