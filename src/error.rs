//! Typed engine errors. Every message names the profile or account involved; what to do next is
//! a typed [`Hint`] that each front end words (the CLI as a command, the app as an action), so
//! no message names a command or a flag. None carries a secret.

use std::path::PathBuf;

pub use crate::model::hint::Hint;
use crate::protocol::http::{ConnectFailure, HttpError, timeout_message};
use crate::protocol::network::SetupError;

/// What went wrong, coarsely: the CLI maps this to its exit code, the GUI to its notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ErrorKindDto"))]
pub enum ErrorKind {
    /// Bad input from the user (flags, names, URLs).
    Usage,
    /// A profile or account that does not exist.
    NotFound,
    /// The account has no usable grant any more: sign in again.
    NeedsSignIn,
    /// The provider answered with an error or an unusable response.
    Provider,
    /// The provider could not be reached, or did not answer in time.
    Network,
    /// The OS keychain is missing, locked or not answering.
    Keychain,
    /// The sign-in did not complete (timed out, or the callback was rejected).
    SignIn,
    /// Anything else (local files, I/O).
    Other,
    /// Refused by an access rule, by the user when asked, or because a file is not trusted.
    Refused,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidInput(String),

    #[error("profile `{0}` not found")]
    ProfileNotFound(String),

    #[error("profile `{0}` already exists")]
    ProfileExists(String),

    /// A profiles file to import that cannot be used as it is; `origin` is its path or URL.
    #[error("{origin}: {detail}")]
    ImportFile { origin: String, detail: String },

    /// Profiles to import whose names exist already.
    #[error("{} already exist{}; nothing was imported", names.iter().map(|n| format!("profile `{n}`")).collect::<Vec<_>>().join(", "), if names.len() == 1 { "s" } else { "" })]
    ImportConflict { names: Vec<String> },

    #[error("account `{0}` not found")]
    AccountNotFound(String),

    #[error("access rule `{0}` not found")]
    NotFoundRule(String),

    #[error("account `{account}` needs sign-in: {reason}")]
    NeedsSignIn {
        account: String,
        profile: String,
        reason: String,
    },

    /// The provider said no, in the OAuth error format (RFC 6749 §5.2 / §4.1.2.1).
    #[error("{context}: the provider answered `{error}`{}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(), uri.as_deref().map(|u| format!(" (see {u})")).unwrap_or_default())]
    Provider {
        context: String,
        error: String,
        description: Option<String>,
        uri: Option<String>,
    },

    /// The provider answered something that is not a usable OAuth response.
    #[error("{context}: {detail}")]
    BadResponse { context: String, detail: String },

    #[error("{context}: {detail}. Check the URL and your network connection")]
    Network { context: String, detail: String },

    /// The proxy, the server's certificate or its name kept the request from the provider.
    #[error("{context}: {failure}")]
    Connect {
        context: String,
        failure: ConnectFailure,
    },

    /// A profile's proxy or CA file that cannot be used.
    #[error("{0}")]
    NetworkSetup(SetupError),

    /// `connect`: the connect timeout fired (no connection), not the total one.
    #[error("{context}: {}. The provider may be down; try again later", timeout_message(*connect, *seconds))]
    Timeout {
        context: String,
        seconds: u64,
        connect: bool,
    },

    #[error("discovery for issuer {issuer} failed: {detail}")]
    Discovery { issuer: String, detail: String },

    #[error("{0}")]
    Keychain(#[from] crate::store::keychain::KeychainError),

    /// The profile's provider changed while a refresh or sign-in with the old one ran.
    #[error(
        "profile `{profile}` changed its provider ({changed}) while {during} was in progress; what the old provider issued was revoked where possible and not stored. Sign in again with `latchkey login {profile}`"
    )]
    ProviderChanged {
        profile: String,
        changed: String,
        during: String,
    },

    #[error("sign-in for profile `{profile}` did not complete: {detail}")]
    SignIn { profile: String, detail: String },

    #[error("the id_token from profile `{profile}` was rejected: {detail}")]
    IdToken { profile: String, detail: String },

    #[error("config file {path}: {detail}")]
    Config { path: PathBuf, detail: String },

    /// Another error, with what it concerned (e.g. the variable a token was for). Its kind is
    /// the inner error's.
    #[error("{context}: {source}")]
    Context {
        context: String,
        #[source]
        source: Box<Error>,
    },
    /// The door refused the token: an access rule, the user's answer, or nobody to ask.
    /// `rule` is the id of the rule that decided, when one did.
    #[error("{account}: refused to {program}: {reason}")]
    Refused {
        account: String,
        program: String,
        rule: Option<String>,
        reason: String,
    },

    /// A file Latchkey will not act on until the user trusts it (`latchkey trust`), or that
    /// asks for something never allowed (e.g. `PATH` in an env file).
    #[error("{path}: {detail}")]
    Untrusted { path: PathBuf, detail: String },

    /// A directory Latchkey will not trust (someone else's, or writable by others).
    #[error("directory {dir} {detail}")]
    UnsafeDir { dir: PathBuf, detail: String },

    /// An error the agent met while answering, relayed with its kind and message so that the
    /// CLI prints and exits as it would have without the agent.
    #[error("{message}")]
    Relayed {
        kind: ErrorKind,
        message: String,
        hint: Option<Hint>,
    },

    /// Another error with what to do about it (see [`Error::hint`]); its kind and message are
    /// the inner error's.
    #[error("{source}")]
    Hinted {
        #[source]
        source: Box<Error>,
        hint: Hint,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput(_)
            | Error::ProfileExists(_)
            | Error::ImportFile { .. }
            | Error::ImportConflict { .. }
            | Error::NetworkSetup(_) => ErrorKind::Usage,
            Error::ProfileNotFound(_) | Error::AccountNotFound(_) | Error::NotFoundRule(_) => {
                ErrorKind::NotFound
            }
            Error::NeedsSignIn { .. } | Error::ProviderChanged { .. } => ErrorKind::NeedsSignIn,
            Error::Provider { .. }
            | Error::BadResponse { .. }
            | Error::Discovery { .. }
            | Error::IdToken { .. } => ErrorKind::Provider,
            Error::Network { .. } | Error::Timeout { .. } | Error::Connect { .. } => {
                ErrorKind::Network
            }
            Error::Keychain(_) => ErrorKind::Keychain,
            Error::SignIn { .. } => ErrorKind::SignIn,
            Error::Config { .. } | Error::UnsafeDir { .. } | Error::Io { .. } => ErrorKind::Other,
            Error::Refused { .. } | Error::Untrusted { .. } => ErrorKind::Refused,
            Error::Context { source, .. } | Error::Hinted { source, .. } => source.kind(),
            Error::Relayed { kind, .. } => *kind,
        }
    }

    /// What the user can do about this error, if the engine knows.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            Error::ProfileNotFound(_) => Some(Hint::ListProfiles),
            Error::ProfileExists(name) => Some(Hint::RemoveProfile { name: name.clone() }),
            Error::ImportConflict { names } => Some(Hint::ReplaceOrRename {
                names: names.clone(),
            }),
            Error::AccountNotFound(_) => Some(Hint::ListAccounts),
            Error::NeedsSignIn {
                profile, account, ..
            } => Some(Hint::SignIn {
                profile: profile.clone(),
                account: account.split_once('/').map(|(_, label)| label.to_string()),
            }),
            Error::Keychain(e) => e.hint(),
            Error::Connect { failure, .. } => Some(match failure {
                ConnectFailure::ProxyUnreachable { .. } => Hint::CheckProxy,
                ConnectFailure::ProxyRefused {
                    status: Some(407), ..
                } => Hint::ProxyCredentials,
                ConnectFailure::ProxyRefused { .. } => Hint::CheckProxy,
                ConnectFailure::CertificateNotTrusted { .. } => Hint::GiveCaFile,
                ConnectFailure::CertificateRefused { .. } => Hint::CheckCertificate,
                ConnectFailure::NameNotResolved { .. } => Hint::CheckHostName,
            }),
            Error::NetworkSetup(SetupError::ProxyCredentials(_)) => Some(Hint::ProxyCredentials),
            Error::Hinted { hint, .. } => Some(hint.clone()),
            Error::Context { source, .. } => source.hint(),
            Error::Relayed { hint, .. } => hint.clone(),
            _ => None,
        }
    }

    /// This error with what to do about it.
    pub fn with_hint(self, hint: Hint) -> Self {
        Error::Hinted {
            source: Box::new(self),
            hint,
        }
    }

    /// This error without a hint attached by [`Error::with_hint`] (to match on its variant).
    pub fn unhinted(&self) -> &Error {
        match self {
            Error::Hinted { source, .. } => source.unhinted(),
            other => other,
        }
    }

    /// This error with what it concerned in front.
    pub fn context(self, context: impl Into<String>) -> Self {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<SetupError> for Error {
    fn from(e: SetupError) -> Self {
        Error::NetworkSetup(e)
    }
}

/// Transport failures become engine errors here, so that `http` knows nothing of the engine's
/// error type (as `oauth2` keeps its transport errors generic).
impl HttpError {
    /// The engine error for a transport-level failure of the request described by `context`.
    pub fn into_error(self, context: String) -> Error {
        match self {
            HttpError::Transport(detail) => Error::Network { context, detail },
            HttpError::Connect(failure) => Error::Connect { context, failure },
            HttpError::Setup(e) => Error::NetworkSetup(e),
            HttpError::Timeout { seconds, connect } => Error::Timeout {
                context,
                seconds,
                connect,
            },
            other => Error::BadResponse {
                context,
                detail: other.to_string(),
            },
        }
    }
}

/// The engine error for a provider's OAuth error (RFC 6749 §4.1.2.1, §5.2): the one place the
/// provider's `error`, `error_description` and `error_uri` enter an error.
pub fn provider_error(
    context: &str,
    error: &str,
    description: Option<&str>,
    uri: Option<&str>,
) -> Error {
    Error::Provider {
        context: context.to_string(),
        error: crate::model::untrusted::sanitize(error),
        description: description.map(crate::model::untrusted::sanitize),
        uri: uri.map(crate::model::untrusted::sanitize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_carry_only_escaped_text() {
        let e = provider_error("ctx", "bad\x1b", Some("d\x07"), Some("u\u{202e}"));
        let text = e.to_string();
        assert!(
            !text
                .chars()
                .any(crate::model::untrusted::is_hidden_or_control),
            "{text:?}"
        );
        assert!(
            text.contains("bad\\u{1b}") && text.contains("d\\u{7}"),
            "{text}"
        );
    }
}
