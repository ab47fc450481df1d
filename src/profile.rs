//! OAuth client profiles: who the client is and where its provider's endpoints are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::error::{Error, Result};

/// How the client authenticates at the token endpoint (RFC 6749 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
    Basic,
    /// `client_secret_post`: id and secret in the request body.
    Post,
    /// A public client: no secret, PKCE only.
    #[default]
    None,
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
        }
    }
}

/// How the browser hands the authorization response back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
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

    fn is_default(&self) -> bool {
        *self == Grant::AuthorizationCode
    }
}

/// A grant RFC 9700 (OAuth 2.0 Security Best Current Practice) tells clients not to use, which a
/// profile may still opt in to for a provider that offers nothing better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

/// Request parameters given by the user, checked to be usable and not to replace the ones
/// Latchkey itself sets (PKCE, `state`, `grant_type`, credentials…).
pub fn validate_extra_params(params: &BTreeMap<String, String>, what: &str) -> Result<()> {
    const RESERVED: &[&str] = &[
        "response_type",
        "client_id",
        "client_secret",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code",
        "code_challenge",
        "code_challenge_method",
        "code_verifier",
        "grant_type",
        "refresh_token",
        "device_code",
        "client_assertion",
        "client_assertion_type",
    ];
    for (k, v) in params {
        if k.is_empty() || k.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::InvalidInput(format!(
                "the {what} parameter name {k:?} is empty or contains spaces or control characters"
            )));
        }
        if RESERVED.contains(&k.as_str()) {
            return Err(Error::InvalidInput(format!(
                "the {what} parameter `{k}` is set by Latchkey itself and cannot be overridden{}",
                if k == "scope" { "; use --scope" } else { "" }
            )));
        }
        if v.chars().any(char::is_control) {
            return Err(Error::InvalidInput(format!(
                "the value of the {what} parameter `{k}` contains control characters"
            )));
        }
    }
    Ok(())
}

/// Parses `KEY=VALUE` as typed on the command line.
pub fn parse_param(input: &str) -> std::result::Result<(String, String), String> {
    match input.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {input:?}")),
    }
}

/// One registered OAuth client. Stored in `profiles.toml`; never holds a secret (the client
/// secret, when there is one, is in the keychain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(skip)]
    pub name: String,
    pub client_id: String,
    /// The OpenID Connect / RFC 8414 issuer the endpoints were discovered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<Url>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub auth_method: AuthMethod,
    #[serde(default)]
    pub redirect: RedirectMode,
    /// A fixed redirect URI, when the provider needs one registered exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<Url>,
    /// The provider sends RFC 9207 `iss` in authorization responses (from discovery).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub authorization_response_iss_parameter_supported: bool,
    /// The id_token signature algorithms accepted (discovery's
    /// `id_token_signing_alg_values_supported` that Latchkey supports); empty means RS256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Clock-skew leeway for id_token `exp` and `iat`, in seconds (default 120, at most 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_leeway_seconds: Option<u64>,
    /// How tokens are obtained; `authorization-code` unless this is a machine client.
    #[serde(default, skip_serializing_if = "Grant::is_default")]
    pub grant: Grant,
    /// The RFC 8628 device authorization endpoint, for `latchkey login --device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<Url>,
    /// Extra parameters of every authorization request (e.g. `access_type`, `login_hint`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_authorize_params: BTreeMap<String, String>,
    /// Extra parameters of every token request (e.g. `audience`, `resource`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_token_params: BTreeMap<String, String>,
    /// Legacy grants this profile opted in to (`--allow-legacy-grant`); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_legacy_grants: Vec<LegacyGrant>,
}

impl Profile {
    pub fn wants_openid(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }

    /// Whether the profile opted in to `grant`.
    pub fn allows(&self, grant: LegacyGrant) -> bool {
        self.allowed_legacy_grants.contains(&grant)
    }

    /// An error unless the profile opted in to `grant` (`--allow-legacy-grant`).
    pub fn require_legacy_grant(&self, grant: LegacyGrant) -> Result<()> {
        if self.allows(grant) {
            return Ok(());
        }
        Err(Error::InvalidInput(format!(
            "profile `{}` does not allow the {} grant: {}. If this provider leaves no other way, add the profile again with --allow-legacy-grant {}",
            self.name,
            grant.as_str(),
            grant.warning(),
            grant.as_str()
        )))
    }

    pub fn leeway_seconds(&self) -> i64 {
        self.id_token_leeway_seconds
            .map_or(crate::idtoken::LEEWAY_SECONDS, |s| s as i64)
    }

    /// Checks what a hand edit of `profiles.toml` could have broken.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name, "profile")?;
        if self.client_id.trim().is_empty() {
            return Err(Error::InvalidInput(format!(
                "profile `{}` has an empty client_id",
                self.name
            )));
        }
        validate_endpoint(&self.authorization_endpoint, "authorization endpoint")?;
        validate_endpoint(&self.token_endpoint, "token endpoint")?;
        for (url, what) in [
            (&self.revocation_endpoint, "revocation endpoint"),
            (&self.userinfo_endpoint, "userinfo endpoint"),
            (&self.jwks_uri, "jwks_uri"),
            (
                &self.device_authorization_endpoint,
                "device authorization endpoint",
            ),
        ] {
            if let Some(url) = url {
                validate_endpoint(url, what)?;
            }
        }
        if let Some(uri) = &self.redirect_uri {
            validate_redirect_uri(uri, self.redirect)?;
        }
        validate_extra_params(&self.extra_authorize_params, "authorization request")?;
        validate_extra_params(&self.extra_token_params, "token request")?;
        if self.grant == Grant::ClientCredentials && !self.auth_method.needs_secret() {
            return Err(Error::InvalidInput(format!(
                "profile `{}` uses the client credentials grant, which needs a client secret (auth_method basic or post)",
                self.name
            )));
        }
        if self.grant == Grant::ClientCredentials && !self.allowed_legacy_grants.is_empty() {
            return Err(Error::InvalidInput(format!(
                "profile `{}` uses the client credentials grant; a user grant such as `{}` cannot be allowed for it",
                self.name,
                self.allowed_legacy_grants[0].as_str()
            )));
        }
        if self
            .id_token_leeway_seconds
            .is_some_and(|s| s > crate::idtoken::MAX_LEEWAY_SECONDS)
        {
            return Err(Error::InvalidInput(format!(
                "profile `{}` has id_token_leeway_seconds above {}; a wider leeway would make token expiry meaningless",
                self.name,
                crate::idtoken::MAX_LEEWAY_SECONDS
            )));
        }
        Ok(())
    }
}

/// Profile names and account labels are used in `PROFILE/LABEL` and in keychain entry names.
pub fn validate_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.contains('/')
        && !name.chars().any(char::is_control)
        && name.trim() == name;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid {what} name {name:?}: use 1–128 characters, no `/`, no control characters, no surrounding spaces"
        )))
    }
}

/// Endpoints must be https, except on loopback hosts (development servers).
pub fn validate_endpoint(url: &Url, what: &str) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        scheme => Err(Error::InvalidInput(format!(
            "the {what} {url} uses {scheme}: endpoints must use https (plain http is allowed only on 127.0.0.1, ::1 and localhost)"
        ))),
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub fn validate_redirect_uri(uri: &Url, mode: RedirectMode) -> Result<()> {
    match mode {
        RedirectMode::Loopback => {
            let ip_literal = matches!(uri.host(), Some(Host::Ipv4(ip)) if ip.is_loopback())
                || matches!(uri.host(), Some(Host::Ipv6(ip)) if ip.is_loopback());
            if uri.scheme() == "http" && ip_literal && uri.fragment().is_none() {
                Ok(())
            } else {
                Err(Error::InvalidInput(format!(
                    "redirect URI {uri} is not a loopback redirect: use http://127.0.0.1[:PORT]/PATH (or http://[::1]…); `localhost` is not accepted because providers match it differently (RFC 8252 §8.3)"
                )))
            }
        }
        RedirectMode::DeepLink => {
            if uri.scheme() == "latchkey" {
                Ok(())
            } else {
                Err(Error::InvalidInput(format!(
                    "redirect URI {uri} is not a Latchkey deep link: use {DEEP_LINK_REDIRECT}"
                )))
            }
        }
    }
}

/// Splits a scope string the way users type it (`"a b,c"`), dropping duplicates.
pub fn parse_scopes(input: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in input.split(|c: char| c.is_whitespace() || c == ',') {
        if !s.is_empty() && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    scopes
}

#[cfg(test)]
impl Profile {
    /// A plain OAuth public client at `https://as.example`, for unit tests to adjust.
    pub(crate) fn for_tests(name: &str) -> Profile {
        Profile {
            name: name.into(),
            client_id: "client".into(),
            issuer: None,
            authorization_endpoint: "https://as.example/authorize".parse().unwrap(),
            token_endpoint: "https://as.example/token".parse().unwrap(),
            revocation_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            scopes: vec![],
            auth_method: AuthMethod::None,
            redirect: Default::default(),
            redirect_uri: None,
            authorization_response_iss_parameter_supported: false,
            id_token_signing_alg_values_supported: vec![],
            id_token_leeway_seconds: None,
            grant: Default::default(),
            device_authorization_endpoint: None,
            extra_authorize_params: Default::default(),
            extra_token_params: Default::default(),
            allowed_legacy_grants: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn endpoints_need_https_except_loopback() {
        assert!(validate_endpoint(&url("https://example.com/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://127.0.0.1:8080/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://127.5.6.7/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://[::1]:9/token"), "t").is_ok());
        assert!(validate_endpoint(&url("http://LocalHost:1/token"), "t").is_ok());
        let err = validate_endpoint(&url("http://example.com/token"), "token endpoint")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("token endpoint") && err.contains("https"),
            "{err}"
        );
        assert!(validate_endpoint(&url("http://localhost.evil.com/"), "t").is_err());
        assert!(validate_endpoint(&url("ftp://127.0.0.1/"), "t").is_err());
    }

    #[test]
    fn loopback_redirects_are_ip_literals() {
        let m = RedirectMode::Loopback;
        assert!(validate_redirect_uri(&url("http://127.0.0.1/callback"), m).is_ok());
        assert!(validate_redirect_uri(&url("http://127.0.0.1:8765/cb"), m).is_ok());
        assert!(validate_redirect_uri(&url("http://localhost/callback"), m).is_err());
        assert!(validate_redirect_uri(&url("https://127.0.0.1/callback"), m).is_err());
        assert!(validate_redirect_uri(&url("latchkey://callback"), m).is_err());
        let d = RedirectMode::DeepLink;
        assert!(validate_redirect_uri(&url("latchkey://callback"), d).is_ok());
        assert!(validate_redirect_uri(&url("other://callback"), d).is_err());
    }

    #[test]
    fn names_reject_slashes_and_control_characters() {
        assert!(validate_name("github-work", "profile").is_ok());
        assert!(validate_name("alice@example.com", "account").is_ok());
        assert!(validate_name("a/b", "profile").is_err());
        assert!(validate_name("", "profile").is_err());
        assert!(validate_name(" a", "profile").is_err());
        assert!(validate_name("a\nb", "profile").is_err());
    }

    #[test]
    fn scopes_split_on_spaces_and_commas() {
        assert_eq!(
            parse_scopes(" openid  email,profile openid "),
            vec!["openid", "email", "profile"]
        );
        assert!(parse_scopes("").is_empty());
    }
}
