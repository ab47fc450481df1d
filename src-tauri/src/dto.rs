//! What crosses the IPC boundary: the shared layer's views (`latchkey::api::views`) and what
//! only the shell has (sign-ins, notices, copies). The TypeScript twins in
//! `ui/src/lib/bindings.ts` are generated from them (`cargo test -p latchkey-desktop`
//! checks they are current; `UPDATE_BINDINGS=1` rewrites them). No token value is ever part of
//! a DTO: copying happens in the backend.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use crate::error_dto::{ErrorDto, ErrorKindDto};
use crate::sensitive::Sensitive;
/// The engine's own choices and the shared layer's views, their TypeScript generated from
/// them (the `ts` feature) under the names the window knows.
pub use latchkey::api::views::{
    AccountView as AccountDto, Discovered as DiscoveryDto, FilledPreset as FilledPresetDto,
    LegacyGrantInfo, Param as ParamDto, PresetView as PresetDto, ProfileView as ProfileDto,
};
pub use latchkey::{
    AuthMethod as AuthMethodDto, Grant as GrantDto, LegacyGrant as LegacyGrantDto,
    RedirectMode as RedirectModeDto,
};

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
    /// The label of the account it signs in as, when the window named one.
    pub account: Option<String>,
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
