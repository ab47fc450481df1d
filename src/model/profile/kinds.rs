//! The choices a profile makes: client authentication, redirect mode, grant, legacy grants.

use serde::{Deserialize, Serialize};

/// How the client authenticates at the token endpoint (RFC 6749 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "AuthMethodDto"))]
pub enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
    Basic,
    /// `client_secret_post`: id and secret in the request body.
    Post,
    /// A public client: no secret, PKCE only.
    #[default]
    None,
    /// `private_key_jwt` (RFC 7523, OpenID Connect Core §9): a JWT signed by the client's key,
    /// which the keychain holds in place of a secret.
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn needs_secret(self) -> bool {
        !matches!(self, AuthMethod::None)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Basic => "basic",
            AuthMethod::Post => "post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private-key-jwt",
        }
    }
}

/// How the browser hands the authorization response back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RedirectModeDto"))]
pub enum RedirectMode {
    /// `http://127.0.0.1:<port>/callback` on a listener of Latchkey's (RFC 8252 §7.3).
    #[default]
    Loopback,
    /// `latchkey://callback`, delivered to the desktop app by the OS.
    DeepLink,
}

impl RedirectMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RedirectMode::Loopback => "loopback",
            RedirectMode::DeepLink => "deep-link",
        }
    }
}

pub const DEEP_LINK_REDIRECT: &str = "latchkey://callback";

/// How a profile gets its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "GrantDto"))]
pub enum Grant {
    /// A user signs in (authorization code + PKCE, or the device flow); refresh tokens renew it.
    #[default]
    AuthorizationCode,
    /// Machine to machine (RFC 6749 §4.4): the client's own token, fetched again near expiry.
    ClientCredentials,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization-code",
            Grant::ClientCredentials => "client-credentials",
        }
    }

    pub(super) fn is_default(&self) -> bool {
        *self == Grant::AuthorizationCode
    }
}

/// A grant RFC 9700 (OAuth 2.0 Security Best Current Practice) tells clients not to use, which a
/// profile may still opt in to for a provider that offers nothing better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LegacyGrantDto"))]
pub enum LegacyGrant {
    /// The implicit grant (`response_type=token`).
    Implicit,
    /// The resource owner password credentials grant.
    Password,
}

impl LegacyGrant {
    pub fn as_str(self) -> &'static str {
        match self {
            LegacyGrant::Implicit => "implicit",
            LegacyGrant::Password => "password",
        }
    }

    /// Why the grant is discouraged, for the warning shown when it is allowed and each use.
    pub fn warning(self) -> &'static str {
        match self {
            LegacyGrant::Implicit => {
                "the implicit grant is deprecated by RFC 9700 (OAuth 2.0 Security Best Current Practice, §2.1.2): the access token travels in the redirect URL, where browser history, extensions and logs can see it, and nothing binds it to this client (no PKCE, no refresh token). Use it only for a provider that offers no authorization code flow"
            }
            LegacyGrant::Password => {
                "the resource owner password grant is deprecated by RFC 9700 (OAuth 2.0 Security Best Current Practice, §2.4): the user's password passes through this client instead of only the provider's page, which rules out multi-factor and phishing-resistant sign-in and teaches users to type passwords where they should not. Use it only for a provider that offers nothing else"
            }
        }
    }
}
