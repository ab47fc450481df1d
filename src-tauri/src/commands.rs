//! The commands the window calls. Each is a thin call into the engine whose errors become
//! [`ErrorDto`]s the UI shows as they are.

use latchkey::api::integrations::{CLI_FILE, git::normalize_url, program_for, snippets};
use latchkey::api::{build_profile, claims_for_display};
use latchkey::model::presets;
use oauth2::ResourceOwnerPassword;
use tauri::{AppHandle, State};

use crate::copying::{self, CopiedFrom};
use crate::dto::*;
use crate::events::EventQueue;
use crate::form::{preset_choice, usage};
use crate::sensitive::Sensitive;
use crate::share::SecretStates;
use crate::signin::{self, SignIns};
use crate::state::AppState;

type Res<T> = Result<T, ErrorDto>;

/// Async so that the file reads happen off the main (UI) thread.
#[tauri::command]
pub async fn overview(
    app: AppHandle,
    state: State<'_, AppState>,
    secrets: State<'_, SecretStates>,
) -> Res<Overview> {
    // The window reloads after each change and on focus: the tray's menu follows.
    crate::accounts_changed::accounts_changed(&app);
    let engine = state.engine()?;
    let mut profiles: Vec<ProfileDto> = engine.profiles()?.iter().map(ProfileDto::from).collect();
    profiles.sort_by_key(|p| p.name.to_lowercase());
    let mut accounts: Vec<AccountDto> = engine.accounts()?.iter().map(AccountDto::from).collect();
    accounts.sort_by_key(|a| a.id.to_lowercase());
    secrets.mark(&engine, &mut profiles, &accounts).await;
    Ok(Overview {
        profiles,
        accounts,
        now: latchkey::model::tokens::now(),
        config_dir: engine.config().dir().display().to_string(),
    })
}

#[tauri::command]
pub async fn discover(
    state: State<'_, AppState>,
    issuer: String,
    proxy: Option<String>,
    ca_file: Option<String>,
) -> Res<DiscoveryDto> {
    let engine = state.engine()?;
    // Through the proxy and CA file the form holds, as the saved profile will.
    let network = crate::form::network(proxy, ca_file)?;
    Ok(engine.discover_via(issuer.trim(), &network).await?.into())
}

/// Adds a profile (`editing == false`) or replaces one. The secret goes to the keychain.
#[tauri::command]
pub async fn save_profile(
    state: State<'_, AppState>,
    secrets: State<'_, SecretStates>,
    input: ProfileInput,
    editing: bool,
) -> Res<ProfileDto> {
    secrets.forget();
    let engine = state.engine()?;
    let input = match input.into_resource_profile()? {
        Ok((request, secret)) if !editing => {
            let profile = engine.add_resource_profile(request, secret).await?;
            return Ok(ProfileDto::from(&profile));
        }
        Ok(_) => {
            return Err(crate::form::usage(
                "A profile from a resource URL is added once; its endpoints cannot be edited.",
            ));
        }
        Err(input) => input,
    };
    let (form, secret) = input.into_form()?;
    let r = build_profile(engine.config().dir(), form, || Ok(secret))?;
    let profile = if editing {
        engine
            .update_profile(r.new, r.extras, r.client_secret)
            .await?
    } else {
        engine
            .add_profile_with(r.new, r.extras, r.client_secret)
            .await?
    };
    Ok(ProfileDto::from(&profile))
}

/// The provider presets: built in, then the user's from the config directory.
#[tauri::command]
pub async fn presets(state: State<'_, AppState>) -> Res<Vec<PresetDto>> {
    let all = presets::all(state.engine()?.config().dir())?;
    Ok(all.into_iter().map(PresetDto::from).collect())
}

/// What a preset fills in with these settings (`tenant`, `base_url`…; missing ones take their
/// default). Nothing is stored.
#[tauri::command]
pub async fn fill_preset(
    state: State<'_, AppState>,
    name: String,
    values: Vec<ParamDto>,
) -> Res<FilledPresetDto> {
    let filled = preset_choice(name, values).fill(state.engine()?.config().dir())?;
    Ok(filled.into())
}

#[tauri::command]
pub async fn remove_profile(
    state: State<'_, AppState>,
    secrets: State<'_, SecretStates>,
    name: String,
) -> Res<()> {
    secrets.forget();
    let engine = state.engine()?;
    let removed = engine.remove_profile(&name, true).await?;
    // As the CLI does: the refresh tokens revoked, a registered client deleted (best effort),
    // after the window has its answer: the profile is gone here whatever the provider says.
    tauri::async_runtime::spawn(async move {
        let _ = engine.end_at_provider(removed.at_provider).await;
    });
    Ok(())
}

/// Starts a browser sign-in: the authorization code flow, or with `implicit` the legacy implicit
/// grant (refused unless the profile opted in to it). `account`: the label of the account it
/// signs in as (one that needs sign-in), else the id_token names it.
#[tauri::command]
pub async fn begin_sign_in(
    app: AppHandle,
    profile: String,
    implicit: bool,
    account: Option<String>,
) -> Res<SignInStarted> {
    signin::begin(&app, &profile, implicit, account).await
}

/// The legacy grants a profile may opt in to, with the engine's warning for each.
#[tauri::command]
pub fn legacy_grants() -> Vec<LegacyGrantInfo> {
    latchkey::api::views::legacy_grants()
}

/// Signs in with the legacy resource owner password grant (the profile must allow it). The
/// password is sent to the token endpoint once and kept nowhere.
#[tauri::command]
pub async fn sign_in_password(
    state: State<'_, AppState>,
    profile: String,
    username: String,
    password: Sensitive<String>,
) -> Res<AccountDto> {
    let password = password.expose();
    if password.is_empty() {
        return Err(usage("Enter the password."));
    }
    let password = ResourceOwnerPassword::new(password);
    let username = username.trim().to_string();
    let account = state
        .engine()?
        .login_password(&profile, None, &username, &password)
        .await?;
    Ok(AccountDto::from(&account))
}

/// Starts a device flow sign-in: the code to show; the account arrives on the `sign-in` event.
#[tauri::command]
pub async fn begin_device_sign_in(app: AppHandle, profile: String) -> Res<DeviceSignInStarted> {
    signin::begin_device(&app, &profile).await
}

/// Opens the verification page of the device sign-in `id` (only that page: the window cannot
/// ask for any other address).
#[tauri::command]
pub fn open_device_page(app: AppHandle, id: u32) -> Res<bool> {
    signin::open_device_page(&app, id)
}

#[tauri::command]
pub fn cancel_sign_in(signins: State<'_, SignIns>, id: u32) -> bool {
    signins.cancel(id)
}

/// Copies a token, refreshed first when it expires within a minute. The value goes from the
/// keychain to the clipboard without passing through the webview.
#[tauri::command]
pub async fn copy_secret(
    state: State<'_, AppState>,
    account: String,
    what: CopyWhat,
) -> Res<CopyResult> {
    copying::copy_secret(&state, account, what, CopiedFrom::Window).await
}

/// Non-secret text: a redirect URI to register, a sign-in URL to paste into a browser.
#[tauri::command]
pub async fn copy_text(state: State<'_, AppState>, text: String) -> Res<()> {
    if text.len() > 8192 {
        return Err(usage("That is too long to copy."));
    }
    let clipboard = state.clipboard.clone();
    tauri::async_runtime::spawn_blocking(move || clipboard.copy_plain(text))
        .await
        .map_err(|e| ErrorDto::new(ErrorKindDto::Other, e.to_string()))?
        .map_err(|e| ErrorDto::new(ErrorKindDto::Other, e))
}

#[tauri::command]
pub async fn refresh_account(state: State<'_, AppState>, account: String) -> Res<AccountDto> {
    let (acct, _tokens) = state.engine()?.refresh(&account).await?;
    Ok(AccountDto::from(&acct))
}

#[tauri::command]
pub async fn sign_out(
    state: State<'_, AppState>,
    account: String,
    revoke: bool,
) -> Res<SignOutResult> {
    let (_acct, revoked) = state.engine()?.logout(&account, revoke).await?;
    Ok(SignOutResult { revoked })
}

/// The id_token's claims, decoded for reading (not verified here).
#[tauri::command]
pub async fn account_details(state: State<'_, AppState>, account: String) -> Res<AccountDetails> {
    let engine = state.engine()?;
    let (acct, tokens) = engine.stored_tokens(&account).await?;
    Ok(AccountDetails {
        account: AccountDto::from(&acct),
        has_id_token: tokens.id_token.is_some(),
        id_token_claims: tokens
            .id_token
            .as_ref()
            .and_then(claims_for_display)
            .map(serde_json::Value::Object),
    })
}

/// The git server shown when the provider's preset names none: the user puts theirs in.
const GIT_URL_PLACEHOLDER: &str = "https://git.example.com";

/// "Use in…": the git config line, kubeconfig entry and `.latchkey.env` line of an account.
/// `git_url`: the git server; without it, the provider preset's, else a placeholder.
#[tauri::command]
pub async fn use_in(
    state: State<'_, AppState>,
    account: String,
    git_url: Option<String>,
) -> Res<UseInDto> {
    let engine = state.engine()?;
    let acct = engine.account(&account)?;
    let profile = engine.profile(&acct.profile)?;
    let (git_url, git_url_is_placeholder) =
        match git_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => (normalize_url(url)?, false),
            None => presets::for_profile(engine.config().dir(), &profile)?
                .and_then(|p| p.git_url())
                .map_or_else(|| (GIT_URL_PLACEHOLDER.to_string(), true), |u| (u, false)),
        };
    let s = snippets(&cli_program(), &acct.id(), &profile, &git_url);
    Ok(UseInDto {
        git_url,
        git_url_is_placeholder,
        git: s.git,
        kubeconfig: s.kubeconfig,
        env_line: s.env_line,
    })
}

/// How tools start the CLI: the `latchkey` installed beside the app, else whichever the PATH
/// finds.
fn cli_program() -> String {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(CLI_FILE)));
    match beside {
        Some(cli) if cli.is_file() => program_for(&cli),
        _ => "latchkey".into(),
    }
}

/// Called once the window has loaded: hands over what arrived before (a cold-start deep link)
/// and switches to live events.
#[tauri::command]
pub fn ui_ready(app: AppHandle, queue: State<'_, EventQueue>) -> Vec<SignInEvent> {
    queue.release(&app)
}
