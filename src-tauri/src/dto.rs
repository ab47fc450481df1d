//! What crosses the IPC boundary. The shell translates engine types into these; the TypeScript
//! twins in `ui/src/lib/bindings/` are generated from them (`cargo test -p latchkey-desktop`
//! checks they are current; `UPDATE_BINDINGS=1` rewrites them). No token value is ever part of
//! a DTO: copying happens in the backend.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use std::collections::BTreeMap;

use latchkey::api::redirect_to_register;
use latchkey::{Account, Profile};

pub use crate::error_dto::{ErrorDto, ErrorKindDto};
use crate::sensitive::Sensitive;
/// The engine's own choices, their TypeScript generated from them (the `ts` feature).
pub use latchkey::{
    AuthMethod as AuthMethodDto, Grant as GrantDto, LegacyGrant as LegacyGrantDto,
    RedirectMode as RedirectModeDto,
};

/// A profile as the UI shows it. The client secret itself never leaves the backend.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfileDto {
    pub name: String,
    pub client_id: String,
    pub issuer: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub scopes: Vec<String>,
    pub auth_method: AuthMethodDto,
    /// Whether the profile is a confidential client (its secret is in the keychain).
    pub has_client_secret: bool,
    /// A confidential client whose secret the keychain does not hold (e.g. imported from a
    /// shared file): it must be entered before a sign-in.
    pub client_secret_missing: bool,
    pub redirect_mode: RedirectModeDto,
    /// A fixed redirect URI from the profile, if any.
    pub redirect_uri: Option<String>,
    /// The exact redirect URI to register at the provider.
    pub redirect_uri_to_register: String,
    pub grant: GrantDto,
    /// Where the device flow starts; `None`: the profile cannot sign in with a code.
    pub device_authorization_endpoint: Option<String>,
    pub extra_authorize_params: Vec<ParamDto>,
    pub extra_token_params: Vec<ParamDto>,
    /// Legacy grants the profile opted in to (RFC 9700 discourages them).
    pub allowed_legacy_grants: Vec<LegacyGrantDto>,
    /// The profile's HTTPS proxy (never with credentials); `None`: the environment's, if any.
    pub proxy: Option<String>,
    /// A PEM file of CAs trusted for this profile besides the system's.
    pub ca_file: Option<String>,
    /// DPoP-bound tokens (RFC 9449).
    pub dpop: bool,
    /// Pushed authorization requests (RFC 9126).
    pub par: bool,
    /// RFC 8707 resource indicators sent on every request.
    pub resources: Vec<String>,
}

/// A legacy grant and the engine's warning about it, for the form and the sign-in screens.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LegacyGrantInfo {
    pub grant: LegacyGrantDto,
    pub warning: String,
}

/// One extra request parameter (`key=value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ParamDto {
    pub key: String,
    pub value: String,
}

/// A setting a preset takes (`tenant`, `base_url`), written `{name}` in its URLs.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PresetVariableDto {
    pub name: String,
    pub default: Option<String>,
    pub help: String,
}

/// A provider preset, built in or from the config directory's `presets/`.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PresetDto {
    pub name: String,
    pub title: String,
    pub description: String,
    /// Where the provider documents client registration.
    pub docs: Option<String>,
    pub built_in: bool,
    pub variables: Vec<PresetVariableDto>,
}

/// What a preset fills into the form once its settings have values.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FilledPresetDto {
    /// Discover from this issuer…
    pub issuer: Option<String>,
    /// …or these endpoints (when `issuer` is `null`).
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub scopes: Vec<String>,
    pub auth_method: Option<AuthMethodDto>,
    pub redirect_mode: RedirectModeDto,
    /// The provider refuses token requests without the client secret.
    pub client_secret_required: bool,
    pub extra_authorize_params: Vec<ParamDto>,
    pub extra_token_params: Vec<ParamDto>,
}

/// A device flow sign-in (RFC 8628) waiting for the user to enter the code. Its outcome comes
/// on the `sign-in` event, like a browser sign-in's.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSignInStarted {
    pub id: u32,
    pub profile: String,
    /// The code to enter at the verification page (not a secret).
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code filled in, when the provider gives one.
    pub verification_uri_complete: Option<String>,
    /// Whether "Open the page" has a web address to open.
    pub can_open: bool,
    /// Unix seconds when the code expires.
    #[ts(type = "number")]
    pub expires_at: i64,
}

/// One signed-in account: metadata only.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountDto {
    /// `PROFILE/LABEL`, what the CLI calls it.
    pub id: String,
    pub profile: String,
    pub label: String,
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    /// Unix seconds.
    #[ts(type = "number | null")]
    pub expires_at: Option<i64>,
    pub has_refresh_token: bool,
    /// Why the account needs a new sign-in, when it does.
    pub needs_sign_in: Option<String>,
    #[ts(type = "number")]
    pub signed_in_at: i64,
    /// Its tokens are DPoP-bound (RFC 9449): a copied token needs a proof to be of use.
    pub dpop_bound: bool,
}

/// Everything the accounts screen needs, in one call.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub profiles: Vec<ProfileDto>,
    pub accounts: Vec<AccountDto>,
    /// Backend clock, Unix seconds (countdowns use it to correct for skew).
    #[ts(type = "number")]
    pub now: i64,
    pub config_dir: String,
}

/// What discovery found for an issuer.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryDto {
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub pkce_s256: bool,
    pub iss_parameter: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "mode")]
pub enum EndpointsInput {
    #[serde(rename = "issuer")]
    Issuer { issuer: String },
    #[serde(rename = "manual", rename_all = "camelCase")]
    Manual {
        authorization: String,
        token: String,
        revocation: Option<String>,
        userinfo: Option<String>,
    },
    /// A protected resource (an MCP server's URL): its authorization server is discovered from
    /// it (RFC 9728), and a client registered for the profile unless a client id is given.
    #[serde(rename = "resource")]
    Resource { resource: String },
}

/// The add/edit profile form. Its `Debug` shows no client secret, nor the proxy.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    pub name: String,
    pub client_id: String,
    /// Sent once, stored in the keychain, never sent back. `null` keeps the stored one on edit.
    #[ts(type = "string | null")]
    pub client_secret: Option<Sensitive<String>>,
    pub endpoints: EndpointsInput,
    pub scopes: Vec<String>,
    pub auth_method: Option<AuthMethodDto>,
    pub redirect_mode: RedirectModeDto,
    pub redirect_uri: Option<String>,
    pub grant: GrantDto,
    /// `null` or empty: from discovery (or none).
    pub device_authorization_endpoint: Option<String>,
    pub extra_authorize_params: Vec<ParamDto>,
    pub extra_token_params: Vec<ParamDto>,
    /// Legacy grants to allow (each with a warning in the form).
    pub allowed_legacy_grants: Vec<LegacyGrantDto>,
    /// `null` or empty: the environment's proxy (HTTPS_PROXY, ALL_PROXY), if any. Sensitive:
    /// a password typed into it must not reach `Debug` (the engine refuses it).
    #[serde(default)]
    #[ts(optional, type = "string | null")]
    pub proxy: Option<Sensitive<String>>,
    /// `null` or empty: the system's CAs only.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub ca_file: Option<String>,
    /// DPoP-bound tokens (RFC 9449).
    #[serde(default)]
    #[ts(optional)]
    pub dpop: Option<bool>,
    /// Pushed authorization requests (RFC 9126) even when the provider does not require them.
    #[serde(default)]
    #[ts(optional)]
    pub par: Option<bool>,
    /// RFC 8707 resource indicators (e.g. an MCP server's URL), sent on every request.
    #[serde(default)]
    #[ts(optional)]
    pub resources: Option<Vec<String>>,
}

/// A sign-in the backend started and is waiting on.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignInStarted {
    pub id: u32,
    pub profile: String,
    /// The legacy implicit grant (the token comes back in the redirect's fragment).
    pub implicit: bool,
    pub redirect_mode: RedirectModeDto,
    pub redirect_uri: String,
    /// The URL the browser was sent to (for "copy the link" when no browser opened).
    pub authorization_url: String,
    pub browser_opened: bool,
    /// Unix seconds after which the sign-in is abandoned.
    #[ts(type = "number")]
    pub expires_at: i64,
}

/// What happened to a sign-in, pushed on the `sign-in` event.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SignInEvent {
    /// The account is stored.
    #[serde(rename = "completed")]
    Completed { id: u32, account: AccountDto },
    /// The sign-in in progress ended without an account (provider error, timeout, exchange).
    #[serde(rename = "failed")]
    Failed { id: u32, error: ErrorDto },
    /// A callback arrived that belongs to no sign-in in progress: nothing changed.
    #[serde(rename = "rejected")]
    Rejected { error: ErrorDto },
}

/// What an engine notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKindDto {
    /// The keychain refuses tokens just issued: the user should unlock it now.
    KeychainRefusesIssuedTokens,
    /// The loopback listener refused a response; the sign-in is still waiting.
    CallbackRefused,
    /// An account needs a new sign-in (shown as a desktop notification, not in the window).
    NeedsSignIn,
    /// A new sign-in replaced an account's earlier grant (revoked, or why not).
    EarlierGrantReplaced,
}

/// Something the user should know while an operation runs (event `notice`).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NoticeDto {
    pub kind: NoticeKindDto,
    /// The profile whose sign-in the notice is about (`callback-refused`).
    pub profile: Option<String>,
    /// The engine's words (provider text in it is already escaped).
    pub message: String,
}

impl From<&latchkey::model::notice::Notice> for NoticeDto {
    fn from(n: &latchkey::model::notice::Notice) -> Self {
        use latchkey::model::notice::Notice;
        let (kind, profile) = match n {
            Notice::KeychainRefusesIssuedTokens { .. } => {
                (NoticeKindDto::KeychainRefusesIssuedTokens, None)
            }
            Notice::CallbackRefused { profile, .. } => {
                (NoticeKindDto::CallbackRefused, Some(profile.clone()))
            }
            Notice::NeedsSignIn { .. } => (NoticeKindDto::NeedsSignIn, None),
            Notice::EarlierGrantReplaced { .. } => (NoticeKindDto::EarlierGrantReplaced, None),
        };
        NoticeDto {
            kind,
            profile,
            message: n.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum CopyWhat {
    AccessToken,
    AuthorizationHeader,
    RefreshToken,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CopyResult {
    pub what: CopyWhat,
    /// Seconds until the clipboard is cleared (when it still holds the copy).
    pub clears_in_secs: u32,
    /// Whether the clipboard entry was marked as a secret for clipboard managers.
    pub concealed: bool,
    /// The account after a refresh the copy may have needed.
    pub account: AccountDto,
}

/// The details view: claims decoded for reading, never verified by the UI.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetails {
    pub account: AccountDto,
    #[ts(type = "Record<string, unknown> | null")]
    pub id_token_claims: Option<serde_json::Value>,
    pub has_id_token: bool,
}

/// "Use in…": what wires an account into git, kubectl and `.latchkey.env`. None of it is
/// secret.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UseInDto {
    /// The git server the git line is for.
    pub git_url: String,
    /// Whether `git_url` is a stand-in to replace (the provider's preset names no git server).
    pub git_url_is_placeholder: bool,
    /// `git config` commands installing the credential helper for `git_url`.
    pub git: String,
    /// The kubeconfig `users:` entry.
    pub kubeconfig: String,
    /// The `.latchkey.env` line.
    pub env_line: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignOutResult {
    pub revoked: bool,
}

impl From<&Account> for AccountDto {
    fn from(a: &Account) -> Self {
        AccountDto {
            id: a.id(),
            profile: a.profile.clone(),
            label: a.label.clone(),
            subject: a.subject.clone(),
            scopes: a.scopes.clone(),
            expires_at: a.expires_at,
            has_refresh_token: a.has_refresh_token,
            needs_sign_in: a.needs_sign_in.clone(),
            signed_in_at: a.signed_in_at,
            dpop_bound: a.dpop_bound,
        }
    }
}

pub fn params_to_dto(params: &BTreeMap<String, String>) -> Vec<ParamDto> {
    params
        .iter()
        .map(|(k, v)| ParamDto {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

impl From<&Profile> for ProfileDto {
    fn from(p: &Profile) -> Self {
        ProfileDto {
            name: p.name.clone(),
            client_id: p.client_id.clone(),
            issuer: p.issuer.clone(),
            authorization_endpoint: p.authorization_endpoint.to_string(),
            token_endpoint: p.token_endpoint.to_string(),
            revocation_endpoint: p.revocation_endpoint.as_ref().map(|u| u.to_string()),
            userinfo_endpoint: p.userinfo_endpoint.as_ref().map(|u| u.to_string()),
            scopes: p.scopes.clone(),
            auth_method: p.auth_method,
            has_client_secret: p.auth_method.needs_secret(),
            // Only the keychain knows: the overview asks it (share::SecretStates).
            client_secret_missing: false,
            redirect_mode: p.redirect,
            redirect_uri: p.redirect_uri.as_ref().map(|u| u.to_string()),
            redirect_uri_to_register: redirect_to_register(p).uri,
            grant: p.grant,
            device_authorization_endpoint: p
                .device_authorization_endpoint
                .as_ref()
                .map(|u| u.to_string()),
            extra_authorize_params: params_to_dto(&p.extra_authorize_params),
            extra_token_params: params_to_dto(&p.extra_token_params),
            allowed_legacy_grants: p.allowed_legacy_grants.to_vec(),
            proxy: p.proxy.as_ref().map(latchkey::protocol::network::redact),
            ca_file: p.ca_file.as_ref().map(|f| f.display().to_string()),
            dpop: p.dpop,
            par: p.par,
            resources: p.resources.clone(),
        }
    }
}

#[cfg(test)]
mod notice_tests {
    use super::*;
    use latchkey::model::notice::Notice;
    use std::time::Duration;

    #[test]
    fn a_refused_callback_names_its_profile_and_says_the_sign_in_waits() {
        let dto = NoticeDto::from(&Notice::CallbackRefused {
            profile: "gl".into(),
            reason: "the response's `state` is not this sign-in's".into(),
            remaining: Duration::from_secs(290),
        });
        assert_eq!(dto.kind, NoticeKindDto::CallbackRefused);
        assert_eq!(dto.profile.as_deref(), Some("gl"));
        assert!(
            dto.message.contains("is not this sign-in's"),
            "{}",
            dto.message
        );
        assert!(
            dto.message.contains("still waiting (290 s left)"),
            "{}",
            dto.message
        );
    }

    #[test]
    fn a_refusing_keychain_asks_for_an_unlock() {
        let dto = NoticeDto::from(&Notice::KeychainRefusesIssuedTokens {
            account: "gl/alice".into(),
            refresh_token: true,
            remaining: Duration::from_secs(300),
            cause: "the collection is locked".into(),
        });
        assert_eq!(dto.kind, NoticeKindDto::KeychainRefusesIssuedTokens);
        assert_eq!(dto.profile, None);
        assert!(
            dto.message
                .starts_with("unlock your keyring to keep the new refresh token for gl/alice"),
            "{}",
            dto.message
        );
    }
}
