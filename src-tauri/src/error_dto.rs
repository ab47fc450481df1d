//! Errors as they cross the IPC boundary: the kind the UI branches on, the engine's message,
//! and the hint as an action the app offers (the CLI words the same hint as a command).

use serde::Serialize;
use ts_rs::TS;

use latchkey::{Error, Hint};

/// The engine's own kind, its TypeScript generated from it (the `ts` feature).
pub use latchkey::ErrorKind as ErrorKindDto;

/// An error the UI can show and branch on.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDto {
    pub kind: ErrorKindDto,
    pub message: String,
    /// The provider's `error` code (`access_denied`, `invalid_grant`…), when it sent one.
    pub provider_error: Option<String>,
    pub provider_description: Option<String>,
    /// What the user can do about it, when the engine knows.
    pub action: Option<Box<ErrorActionDto>>,
}

/// What the UI offers for an error: a button for `sign-in`, the label as advice for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorActionKind {
    /// Start a sign-in to `profile`.
    SignIn,
    /// Change the profile (edit it, or remove and add it again).
    EditProfile,
    /// Something to do outside Latchkey, or in the form at hand.
    Advice,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ErrorActionDto {
    pub kind: ErrorActionKind,
    pub label: String,
    /// The profile the action concerns, where there is one.
    pub profile: Option<String>,
    /// For `sign-in`: the account's label, so the sign-in heals that account (without it a
    /// sign-in names the account after the id_token, which may be another one).
    pub account: Option<String>,
}

impl ErrorDto {
    pub fn new(kind: ErrorKindDto, message: impl Into<String>) -> Self {
        ErrorDto {
            kind,
            message: message.into(),
            provider_error: None,
            provider_description: None,
            action: None,
        }
    }
}

/// The engine's hint worded for the app (the CLI words it as a command: src/cli/hint.rs).
impl From<Hint> for ErrorActionDto {
    fn from(hint: Hint) -> Self {
        use ErrorActionKind::{Advice, EditProfile, SignIn};
        let account = match &hint {
            Hint::SignIn { account, .. } => account.clone(),
            _ => None,
        };
        let (kind, label, profile) = match hint {
            Hint::SignIn { profile, .. } | Hint::ReplaceLostGrant { profile } => {
                (SignIn, "Sign in again".to_string(), Some(profile))
            }
            Hint::RetrySignIn { profile } => (
                SignIn,
                "Start the sign-in again and finish it in the browser".into(),
                Some(profile),
            ),
            Hint::RetryImplicitSignIn { profile } => (
                SignIn,
                "Start the sign-in again, in a browser with JavaScript on".into(),
                Some(profile),
            ),
            Hint::RetryDeviceSignIn => (Advice, "Start the sign-in with a code again".into(), None),
            Hint::AllowMoreTime => (
                Advice,
                "Start the sign-in with a code again and approve it sooner".into(),
                None,
            ),
            Hint::ListProfiles => (
                Advice,
                "The accounts screen lists every profile".into(),
                None,
            ),
            Hint::RemoveProfile { name } => (
                Advice,
                format!("Choose another name, or remove the profile `{name}` first"),
                Some(name),
            ),
            Hint::ReplaceOrRename { names } => (
                Advice,
                "Replace the profiles of the same name, or import under other names".into(),
                names.into_iter().next(),
            ),
            Hint::ListAccounts => (
                Advice,
                "The accounts screen lists every account".into(),
                None,
            ),
            Hint::SetClientSecret { profile } => (
                EditProfile,
                "Enter the client secret in the profile".into(),
                Some(profile),
            ),
            Hint::WrongClientSecret { profile } => (
                EditProfile,
                "The client secret may be wrong: enter it in the profile again".into(),
                Some(profile),
            ),
            Hint::CheckScopes { profile } => (
                EditProfile,
                "The profile's scopes may be the cause: check them".into(),
                Some(profile),
            ),
            Hint::SignInDenied { profile } => (
                SignIn,
                "Sign in again and approve the request (if the provider refused it, check the profile's scopes)".into(),
                Some(profile),
            ),
            Hint::DidYouMeanProfile { name } => {
                (Advice, format!("Did you mean the profile `{name}`?"), None)
            }
            Hint::DidYouMeanAccount { name } => {
                (Advice, format!("Did you mean the account `{name}`?"), None)
            }
            Hint::FetchToken { profile } => (
                Advice,
                "Use “Get token”: this profile needs no sign-in".into(),
                Some(profile),
            ),
            Hint::RemoveWithoutRevoking => (
                Advice,
                "Try again later, or revoke the grant at the provider and remove the account"
                    .into(),
                None,
            ),
            Hint::AddProfileWithIssuer => (
                EditProfile,
                "Give the issuer (its discovery lists the keys), or leave out `openid`".into(),
                None,
            ),
            Hint::AddProfileAgainWithIssuer | Hint::GiveIssuer => (
                EditProfile,
                "Add the profile again with its issuer, or remove `openid` from its scopes".into(),
                None,
            ),
            Hint::AddDeviceEndpoint => (
                EditProfile,
                "Add the profile again with its device authorization endpoint".into(),
                None,
            ),
            Hint::AllowLegacyGrant { grant } => (
                EditProfile,
                format!(
                    "If this provider leaves no other way, add the profile again allowing the {grant} grant"
                ),
                None,
            ),
            Hint::GiveEndpoints => (
                Advice,
                "Or enter the endpoints by hand instead of the issuer".into(),
                None,
            ),
            Hint::UseScopes => (Advice, "Put scopes in the Scopes field".into(), None),
            Hint::PassClientSecret { .. } => (Advice, "Enter the client secret".into(), None),
            Hint::DropClientSecret => (
                Advice,
                "Leave the client secret empty, or choose an auth method that uses it".into(),
                None,
            ),
            Hint::ListPresets => (Advice, "Choose one of the listed presets".into(), None),
            Hint::UnlockKeychain => (
                Advice,
                "Unlock the system keychain, then try again".into(),
                None,
            ),
            Hint::ChangeAccessRule { id, .. } => (
                Advice,
                format!("Access rule {id} refused it: remove or change the rule in the account's details"),
                None,
            ),
            Hint::AllowProgram { program, .. } => (
                Advice,
                format!("Allow {program} in the account's details to let it take the token"),
                None,
            ),
            Hint::CheckProxy => (
                EditProfile,
                "Check the profile's proxy (else the HTTPS_PROXY variable); NO_PROXY lists hosts reached directly".into(),
                None,
            ),
            Hint::ProxyCredentials => (
                Advice,
                "Put the proxy's credentials in the HTTPS_PROXY variable, never in the profile".into(),
                None,
            ),
            Hint::GiveCaFile => (
                EditProfile,
                "If your network uses a company CA, enter its PEM file in the profile's CA file field".into(),
                None,
            ),
            Hint::CheckCertificate => (
                Advice,
                "Check the URL and this computer's clock".into(),
                None,
            ),
            Hint::CheckHostName => (
                EditProfile,
                "Check the URL; behind a proxy, enter it in the profile or set HTTPS_PROXY".into(),
                None,
            ),
            Hint::UsePar { profile } => (
                Advice,
                format!("The provider requires pushed authorization requests: run `latchkey profile set {profile} --par`, then sign in again"),
                Some(profile),
            ),
            Hint::RegisterClientKey { profile } => (
                EditProfile,
                format!("Register the client's public key at the provider: `latchkey profile show {profile} --jwks` prints it"),
                Some(profile),
            ),
            Hint::UseProxyForDpop { account } => (
                Advice,
                format!("Use `latchkey proxy {account} --upstream URL` in a terminal: it signs the proof each request needs"),
                None,
            ),
            Hint::TrustFile { path } => (
                Advice,
                format!("Read {path}; if you trust it, run `latchkey trust` on it in a terminal"),
                None,
            ),
        };
        ErrorActionDto {
            kind,
            label,
            profile,
            account,
        }
    }
}

impl From<Error> for ErrorDto {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        let (provider_error, provider_description) = match e.unhinted() {
            Error::Provider {
                error, description, ..
            } => (Some(error.clone()), description.clone()),
            _ => (None, None),
        };
        ErrorDto {
            kind,
            message: e.to_string(),
            provider_error,
            provider_description,
            action: e.hint().map(|h| Box::new(h.into())),
        }
    }
}
