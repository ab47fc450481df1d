//! The commands the window calls. Each is a thin call into the engine whose errors become
//! [`ErrorDto`]s the UI shows as they are.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;

use std::collections::BTreeMap;

use latchkey::engine::ManualEndpoints;
use latchkey::presets::{self, SecretNeed, Source};
use latchkey::{Endpoints, Latchkey, LegacyGrant, NewProfile, ProfileExtras};
use oauth2::{ClientSecret, ResourceOwnerPassword};
use tauri::{AppHandle, State};
use url::Url;

use crate::clipboard::clear_after_secs;
use crate::dto::*;
use crate::signin;
use crate::state::AppState;

type Res<T> = Result<T, ErrorDto>;

/// Runs an engine operation on a blocking thread. Some engine futures are not `Send` for every
/// lifetime (a rustc limitation around borrowed HTTP clients in async code), which Tauri's
/// async commands require; `block_on` there needs no `Send`.
pub async fn on_engine<T, F, Fut>(engine: Arc<Latchkey>, f: F) -> Res<T>
where
    T: Send + 'static,
    F: FnOnce(Arc<Latchkey>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Res<T>>,
{
    tauri::async_runtime::spawn_blocking(move || tauri::async_runtime::block_on(f(engine)))
        .await
        .map_err(|e| ErrorDto::new(ErrorKindDto::Other, format!("internal task failed: {e}")))?
}

fn usage(msg: impl Into<String>) -> ErrorDto {
    ErrorDto::new(ErrorKindDto::Usage, msg)
}

/// Async so that the file reads happen off the main (UI) thread.
#[tauri::command]
pub async fn overview(state: State<'_, AppState>) -> Res<Overview> {
    let engine = state.engine()?;
    let mut profiles: Vec<ProfileDto> = engine.profiles()?.iter().map(ProfileDto::from).collect();
    profiles.sort_by_key(|p| p.name.to_lowercase());
    let mut accounts: Vec<AccountDto> = engine.accounts()?.iter().map(AccountDto::from).collect();
    accounts.sort_by_key(|a| a.id.to_lowercase());
    Ok(Overview {
        profiles,
        accounts,
        now: signin::now(),
        config_dir: engine.config().dir().display().to_string(),
    })
}

#[tauri::command]
pub async fn discover(state: State<'_, AppState>, issuer: String) -> Res<DiscoveryDto> {
    let engine = state.engine()?;
    let m = on_engine(engine, move |e| async move {
        Ok(e.discover(issuer.trim()).await?)
    })
    .await?;
    let s = |u: Option<Url>| u.map(|u| u.to_string());
    Ok(DiscoveryDto {
        pkce_s256: m
            .code_challenge_methods_supported
            .as_ref()
            .is_some_and(|v| v.iter().any(|x| x == "S256")),
        iss_parameter: m.authorization_response_iss_parameter_supported,
        issuer: m.issuer,
        authorization_endpoint: s(m.authorization_endpoint),
        token_endpoint: s(m.token_endpoint),
        revocation_endpoint: s(m.revocation_endpoint),
        userinfo_endpoint: s(m.userinfo_endpoint),
        scopes_supported: m.scopes_supported,
    })
}

fn parse_url(value: &str, what: &str) -> Res<Url> {
    Url::parse(value.trim()).map_err(|e| usage(format!("The {what} is not a valid URL ({e}).")))
}

fn optional_url(value: Option<String>, what: &str) -> Res<Option<Url>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_url(v, what).map(Some),
    }
}

/// The form's `key=value` rows: blank rows are skipped, a value without a key or a key given
/// twice is refused. The engine checks the names themselves (no `state`, `client_id`…).
fn params(rows: Vec<ParamDto>, what: &str) -> Res<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for ParamDto { key, value } in rows {
        let key = key.trim().to_string();
        if key.is_empty() {
            if value.trim().is_empty() {
                continue;
            }
            return Err(usage(format!(
                "An extra {what} parameter has a value but no name."
            )));
        }
        if out.insert(key.clone(), value).is_some() {
            return Err(usage(format!(
                "The extra {what} parameter `{key}` is given twice."
            )));
        }
    }
    Ok(out)
}

/// Adds a profile (`editing == false`) or replaces one. The secret goes to the keychain.
#[tauri::command]
pub async fn save_profile(
    state: State<'_, AppState>,
    input: ProfileInput,
    editing: bool,
) -> Res<ProfileDto> {
    let engine = state.engine()?;
    let endpoints = match input.endpoints {
        EndpointsInput::Issuer { issuer } => {
            if issuer.trim().is_empty() {
                return Err(usage(
                    "Enter the issuer URL, or switch to entering endpoints by hand.",
                ));
            }
            Endpoints::Issuer(issuer.trim().to_string())
        }
        EndpointsInput::Manual {
            authorization,
            token,
            revocation,
            userinfo,
        } => Endpoints::Manual(Box::new(ManualEndpoints {
            authorization: parse_url(&authorization, "authorization endpoint")?,
            token: parse_url(&token, "token endpoint")?,
            revocation: optional_url(revocation, "revocation endpoint")?,
            userinfo: optional_url(userinfo, "userinfo endpoint")?,
        })),
    };
    let extras = ProfileExtras {
        grant: input.grant.into(),
        device_authorization_endpoint: optional_url(
            input.device_authorization_endpoint,
            "device authorization endpoint",
        )?,
        extra_authorize_params: params(input.extra_authorize_params, "authorization")?,
        extra_token_params: params(input.extra_token_params, "token request")?,
        allowed_legacy_grants: input
            .allowed_legacy_grants
            .into_iter()
            .map(Into::into)
            .collect(),
    };
    let new = NewProfile {
        name: input.name.trim().to_string(),
        client_id: input.client_id,
        endpoints,
        scopes: input.scopes,
        auth_method: input.auth_method.map(Into::into),
        redirect: input.redirect_mode.into(),
        redirect_uri: optional_url(input.redirect_uri, "redirect URI")?,
    };
    let secret = input
        .client_secret
        .filter(|s| !s.is_empty())
        .map(ClientSecret::new);
    let profile = on_engine(engine, move |e| async move {
        Ok(if editing {
            e.update_profile(new, extras, secret).await?
        } else {
            e.add_profile_with(new, extras, secret).await?
        })
    })
    .await?;
    Ok(ProfileDto::from(&profile))
}

/// The provider presets: built in, then the user's from the config directory.
#[tauri::command]
pub async fn presets(state: State<'_, AppState>) -> Res<Vec<PresetDto>> {
    let engine = state.engine()?;
    let all = presets::all(engine.config().dir())?;
    Ok(all
        .into_iter()
        .map(|p| PresetDto {
            built_in: p.source == Source::BuiltIn,
            variables: p
                .variables
                .iter()
                .map(|(name, v)| PresetVariableDto {
                    name: name.clone(),
                    default: v.default.clone(),
                    help: v.help.clone(),
                })
                .collect(),
            name: p.name,
            title: p.title,
            description: p.description,
            docs: p.docs,
        })
        .collect())
}

/// What a preset fills in with these settings (`tenant`, `base_url`…; missing ones take their
/// default). Nothing is stored.
#[tauri::command]
pub async fn fill_preset(
    state: State<'_, AppState>,
    name: String,
    values: Vec<ParamDto>,
) -> Res<FilledPresetDto> {
    let engine = state.engine()?;
    let preset = presets::find(engine.config().dir(), &name)?;
    let values: BTreeMap<String, String> = values
        .into_iter()
        .filter(|p| !p.value.trim().is_empty())
        .map(|p| (p.key, p.value))
        .collect();
    let f = preset.fill(&values)?;
    let s = |u: Option<Url>| u.map(|u| u.to_string());
    let (issuer, authorization, token, revocation, userinfo) = match f.endpoints {
        Endpoints::Issuer(i) => (Some(i), None, None, None, None),
        Endpoints::Manual(m) => (
            None,
            Some(m.authorization.to_string()),
            Some(m.token.to_string()),
            s(m.revocation),
            s(m.userinfo),
        ),
    };
    Ok(FilledPresetDto {
        issuer,
        authorization_endpoint: authorization,
        token_endpoint: token,
        revocation_endpoint: revocation,
        userinfo_endpoint: userinfo,
        device_authorization_endpoint: s(f.extras.device_authorization_endpoint),
        scopes: f.scopes,
        auth_method: f.auth_method.map(Into::into),
        redirect_mode: f.redirect.into(),
        client_secret_required: f.client_secret == SecretNeed::Required,
        extra_authorize_params: params_to_dto(&f.extras.extra_authorize_params),
        extra_token_params: params_to_dto(&f.extras.extra_token_params),
    })
}

#[tauri::command]
pub async fn remove_profile(state: State<'_, AppState>, name: String) -> Res<()> {
    on_engine(state.engine()?, move |e| async move {
        e.remove_profile(&name).await?;
        Ok(())
    })
    .await
}

/// Starts a browser sign-in: the authorization code flow, or with `implicit` the legacy implicit
/// grant (refused unless the profile opted in to it).
#[tauri::command]
pub async fn begin_sign_in(app: AppHandle, profile: String, implicit: bool) -> Res<SignInStarted> {
    signin::begin(&app, &profile, implicit).await
}

/// The legacy grants a profile may opt in to, with the engine's warning for each.
#[tauri::command]
pub fn legacy_grants() -> Vec<LegacyGrantInfo> {
    [LegacyGrant::Implicit, LegacyGrant::Password]
        .into_iter()
        .map(|g| LegacyGrantInfo {
            grant: g.into(),
            warning: g.warning().to_string(),
        })
        .collect()
}

/// Signs in with the legacy resource owner password grant (the profile must allow it). The
/// password is sent to the token endpoint once and kept nowhere.
#[tauri::command]
pub async fn sign_in_password(
    state: State<'_, AppState>,
    profile: String,
    username: String,
    password: String,
) -> Res<AccountDto> {
    if password.is_empty() {
        return Err(usage("Enter the password."));
    }
    let password = ResourceOwnerPassword::new(password);
    let username = username.trim().to_string();
    let account = on_engine(state.engine()?, move |e| async move {
        Ok(e.login_password(&profile, None, &username, &password)
            .await?)
    })
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
pub fn cancel_sign_in(state: State<'_, AppState>, id: u32) -> bool {
    state.signins.cancel(id)
}

/// Copies a token, refreshed first when it expires within a minute. The value goes from the
/// keychain to the clipboard without passing through the webview.
#[tauri::command]
pub async fn copy_secret(
    state: State<'_, AppState>,
    account: String,
    what: CopyWhat,
) -> Res<CopyResult> {
    let engine = state.engine()?;
    let (acct, value) = match what {
        CopyWhat::AccessToken | CopyWhat::AuthorizationHeader => {
            let (acct, tokens) =
                on_engine(
                    engine,
                    move |e| async move { Ok(e.token(&account, 60).await?) },
                )
                .await?;
            let token = tokens.access_token.secret().clone();
            let value = if what == CopyWhat::AuthorizationHeader {
                format!("Authorization: Bearer {token}")
            } else {
                token
            };
            (acct, value)
        }
        CopyWhat::RefreshToken => {
            let (acct, tokens) = on_engine(engine, move |e| async move {
                Ok(e.stored_tokens(&account).await?)
            })
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
    let (acct, _tokens) = on_engine(state.engine()?, move |e| async move {
        Ok(e.refresh(&account).await?)
    })
    .await?;
    Ok(AccountDto::from(&acct))
}

#[tauri::command]
pub async fn sign_out(
    state: State<'_, AppState>,
    account: String,
    revoke: bool,
) -> Res<SignOutResult> {
    let (_acct, revoked) = on_engine(state.engine()?, move |e| async move {
        Ok(e.logout(&account, revoke).await?)
    })
    .await?;
    Ok(SignOutResult { revoked })
}

/// The id_token's claims, decoded for reading (not verified here).
#[tauri::command]
pub async fn account_details(state: State<'_, AppState>, account: String) -> Res<AccountDetails> {
    let engine = state.engine()?;
    let (acct, tokens) = on_engine(engine, move |e| async move {
        Ok(e.stored_tokens(&account).await?)
    })
    .await?;
    let claims = tokens
        .id_token
        .as_ref()
        .and_then(|t| decode_claims(t.secret()));
    Ok(AccountDetails {
        account: AccountDto::from(&acct),
        has_id_token: tokens.id_token.is_some(),
        id_token_claims: claims,
    })
}

fn decode_claims(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .filter(|v| v.is_object())
}

/// Called once the window has loaded: hands over what arrived before (a cold-start deep link)
/// and switches to live events.
#[tauri::command]
pub fn ui_ready(state: State<'_, AppState>) -> Vec<SignInEvent> {
    state
        .queued
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_decode_without_verification() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice","email":"a@x"}"#);
        let jwt = format!("e30.{payload}.sig");
        assert_eq!(decode_claims(&jwt).unwrap()["sub"], "alice");
        assert!(decode_claims("nope").is_none());
    }
}
