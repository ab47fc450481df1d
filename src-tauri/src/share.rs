//! Profiles shared as files or URLs, from the window: export through a save dialog, import
//! through an open dialog or from a URL, with the checks of `latchkey profile export|import`
//! (the same engine and api calls). The dialogs are opened here, not by the window, so the
//! webview never names a path to read or write and needs no dialog permission at all.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What an import did to each profile, as the shared layer says it.
pub use latchkey::api::Imported as ImportedDto;
use latchkey::api::{ShareSource, export_profiles, export_to, import, read_import};
use latchkey::engine::SecretState;
use latchkey::{Error, Latchkey};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use ts_rs::TS;

use crate::dto::{AccountDto, ErrorDto, ErrorKindDto, ProfileDto};
use crate::state::AppState;

type Res<T> = Result<T, ErrorDto>;

/// What the dialogs offer and suggest.
const FILTER: &str = "Latchkey profiles (TOML)";
const FILE_NAME: &str = "latchkey-profiles.toml";

/// A file or URL read and checked, kept until the user has chosen what to do about names
/// that exist (replace, rename, cancel), so that the choice applies to the very bytes checked.
#[derive(Default)]
pub struct PendingImport(Mutex<Option<Picked>>);

#[derive(Debug, Clone)]
pub struct Picked {
    origin: String,
    bytes: Vec<u8>,
}

/// What an import holds, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    /// The file or URL, as messages name it.
    pub origin: String,
    /// The profiles it holds.
    pub names: Vec<String>,
    /// Those whose names exist here: the user replaces them, imports them under other names,
    /// or cancels.
    pub conflicts: Vec<String>,
}

/// Import the file's profile `from` as `to`.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct RenameDto {
    pub from: String,
    pub to: String,
}

/// Reads and checks `source` as the CLI's import does, and says which names exist here.
pub async fn read_checked(
    engine: &Latchkey,
    source: &ShareSource,
) -> Result<(ImportPreview, Picked), Error> {
    let picked = Picked {
        origin: source.origin(),
        bytes: source.read(engine).await?,
    };
    let profiles = read_import(&picked.bytes, &picked.origin, &[])?;
    let existing = engine.profiles()?;
    let names: Vec<String> = profiles.into_iter().map(|p| p.name).collect();
    let conflicts = names
        .iter()
        .filter(|n| existing.iter().any(|p| &p.name == *n))
        .cloned()
        .collect();
    let preview = ImportPreview {
        origin: picked.origin.clone(),
        names,
        conflicts,
    };
    Ok((preview, picked))
}

/// Imports `picked` (all or nothing) with the user's choice: `replace` names that exist, or
/// `renames`. A name that exists and is neither is the engine's conflict error.
pub async fn apply(
    engine: &Latchkey,
    picked: &Picked,
    replace: bool,
    renames: &[RenameDto],
) -> Result<Vec<ImportedDto>, Error> {
    let renames: Vec<(String, String)> = renames
        .iter()
        .map(|r| (r.from.clone(), r.to.trim().to_string()))
        .collect();
    import(engine, &picked.bytes, &picked.origin, &renames, replace).await
}

#[tauri::command]
pub async fn export_profiles_file(
    app: AppHandle,
    state: State<'_, AppState>,
    names: Vec<String>,
) -> Res<Option<String>> {
    let engine = state.engine()?;
    // Said before a dialog opens: an unknown name, or nothing to export.
    export_profiles(&engine.profiles()?, &names)?;
    let Some(path) = choose_file(&app, true).await? else {
        return Ok(None);
    };
    export_to(&engine, &names, &path)?;
    Ok(Some(path.display().to_string()))
}

/// Opens the system's open dialog and reads and checks the file; `None`: cancelled.
#[tauri::command]
pub async fn import_profiles_file(
    app: AppHandle,
    state: State<'_, AppState>,
    pending: State<'_, PendingImport>,
) -> Res<Option<ImportPreview>> {
    let Some(path) = choose_file(&app, false).await? else {
        return Ok(None);
    };
    stage(state.engine()?, ShareSource::File(path), &pending)
        .await
        .map(Some)
}

/// Fetches and checks the file at `url` (https, or http on loopback; no redirect; capped).
#[tauri::command]
pub async fn import_profiles_url(
    state: State<'_, AppState>,
    pending: State<'_, PendingImport>,
    url: String,
) -> Res<ImportPreview> {
    let source = match ShareSource::parse(url.trim())? {
        source @ ShareSource::Url(_) => source,
        _ => {
            return Err(ErrorDto::new(
                ErrorKindDto::Usage,
                "enter a URL starting with https:// (or http:// on 127.0.0.1 or localhost)",
            ));
        }
    };
    stage(state.engine()?, source, &pending).await
}

/// Imports what the last file or URL held, with the user's choice for names that exist.
#[tauri::command]
pub async fn import_profiles_apply(
    state: State<'_, AppState>,
    pending: State<'_, PendingImport>,
    secrets: State<'_, SecretStates>,
    replace: bool,
    renames: Vec<RenameDto>,
) -> Res<Vec<ImportedDto>> {
    let picked = pending
        .0
        .lock()
        .map_err(|_| poisoned())?
        .clone()
        .ok_or_else(|| {
            ErrorDto::new(ErrorKindDto::Usage, "choose a file or URL to import first")
        })?;
    let engine = state.engine()?;
    let imported = apply(&engine, &picked, replace, &renames).await?;
    // Kept on a conflict (above), so that the user can choose again; spent once written.
    pending.0.lock().map_err(|_| poisoned())?.take();
    secrets.forget();
    Ok(imported)
}

#[tauri::command]
pub fn import_profiles_cancel(pending: State<'_, PendingImport>) {
    if let Ok(mut p) = pending.0.lock() {
        p.take();
    }
}

async fn stage(
    engine: Arc<Latchkey>,
    source: ShareSource,
    pending: &PendingImport,
) -> Res<ImportPreview> {
    let (preview, picked) = read_checked(&engine, &source).await?;
    *pending.0.lock().map_err(|_| poisoned())? = Some(picked);
    Ok(preview)
}

fn poisoned() -> ErrorDto {
    ErrorDto::new(
        ErrorKindDto::Other,
        "the pending import was lost; choose the file again",
    )
}

/// The system's save (`save`) or open dialog for a profiles file; `None`: cancelled.
async fn choose_file(app: &AppHandle, save: bool) -> Res<Option<PathBuf>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dialog = app.dialog().file().add_filter(FILTER, &["toml"]);
    if save {
        dialog.set_file_name(FILE_NAME).save_file(move |p| {
            let _ = tx.send(p);
        });
    } else {
        dialog.pick_file(move |p| {
            let _ = tx.send(p);
        });
    }
    match rx.await.ok().flatten() {
        None => Ok(None),
        Some(p) => p.into_path().map(Some).map_err(|e| {
            ErrorDto::new(
                ErrorKindDto::Other,
                format!("the dialog gave no usable path: {e}"),
            )
        }),
    }
}

/// Whether confidential profiles lack their client secret, as the accounts screen shows it.
/// Asked only of profiles without accounts (an import, a fresh add), and remembered for a
/// minute: the screen reloads every 15 s and on focus, and a locked keychain would otherwise
/// be asked to unlock each time.
#[derive(Default)]
pub struct SecretStates(Mutex<HashMap<String, (bool, Instant)>>);

const REMEMBER: Duration = Duration::from_secs(60);

impl SecretStates {
    /// Forgets every answer (a profile was saved, imported or removed).
    pub fn forget(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }

    /// Sets `client_secret_missing` on `profiles` that need a secret and have no account.
    pub async fn mark(
        &self,
        engine: &Latchkey,
        profiles: &mut [ProfileDto],
        accounts: &[AccountDto],
    ) {
        for dto in profiles.iter_mut() {
            if !dto.may_lack_secret(accounts) {
                continue;
            }
            let known = self
                .0
                .lock()
                .ok()
                .and_then(|m| m.get(&dto.name).copied())
                .filter(|(_, at)| at.elapsed() < REMEMBER);
            let missing = match known {
                Some((missing, _)) => missing,
                None => {
                    let missing = match engine.profile(&dto.name) {
                        Ok(p) => {
                            engine.client_secret_state(&p).await.ok() == Some(SecretState::Missing)
                        }
                        Err(_) => false,
                    };
                    if let Ok(mut m) = self.0.lock() {
                        m.insert(dto.name.clone(), (missing, Instant::now()));
                    }
                    missing
                }
            };
            dto.client_secret_missing = missing;
        }
    }
}

#[cfg(test)]
#[path = "share_tests.rs"]
mod tests;
