//! Sign-ins between their two halves: the device flow waiting for the user's approval, and the
//! browser sign-ins waiting for the redirect. Their `Debug` output shows none of their secrets.

use std::time::Duration;

use oauth2::{CsrfToken, PkceCodeVerifier};
use url::Url;

use crate::model::profile::{Profile, validate_endpoint};
use crate::model::secret::Nonce;

/// A device flow sign-in waiting for the user to enter the code (RFC 8628).
#[derive(Debug)]
pub struct DeviceLogin {
    pub profile: Profile,
    pub label: Option<String>,
    /// The code the user types at the verification page.
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code filled in, when the provider gives one.
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    pub(super) interval: Duration,
    pub(super) device_code: oauth2::DeviceCode,
}

impl DeviceLogin {
    /// The page to open in a browser: the complete URI when given, if it is a web address.
    pub fn browser_url(&self) -> Option<Url> {
        self.verification_uri_complete
            .as_deref()
            .into_iter()
            .chain([self.verification_uri.as_str()])
            .filter_map(|u| Url::parse(u).ok())
            .find(|u| validate_endpoint(u, "verification URI").is_ok())
    }

    /// The polling interval the server asked for.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// What a browser sign-in holds between the authorization request and the redirect, whatever
/// its grant. `Debug` shows neither the state nor the nonce (nor the authorization URL's query,
/// which carries them).
pub struct BrowserRequest {
    pub profile: Profile,
    pub label: Option<String>,
    pub redirect_uri: Url,
    pub authorization_url: Url,
    pub(super) state: CsrfToken,
    pub(super) nonce: Option<Nonce>,
}

impl BrowserRequest {
    pub fn state(&self) -> &str {
        self.state.secret()
    }
}

/// An authorization code sign-in between the authorization request and the response. `Debug`
/// redacts like [`BrowserRequest`]'s, and shows no PKCE verifier.
pub struct PendingLogin {
    pub request: BrowserRequest,
    pub(super) verifier: PkceCodeVerifier,
    /// The key the tokens will be bound to (a DPoP profile), made for this sign-in.
    pub(super) dpop_key: Option<crate::protocol::keys::SigningKey>,
}

/// An implicit sign-in (legacy, opt-in) between the authorization request and the redirect.
/// Its own type, so that it cannot be completed as a code flow.
#[derive(Debug)]
pub struct PendingImplicitLogin {
    pub request: BrowserRequest,
}

/// A URL for `Debug` output: without its query and fragment, which may carry secrets.
fn url_without_query(url: &Url) -> String {
    let mut url = url.clone();
    let had_query = url.query().is_some();
    url.set_query(None);
    url.set_fragment(None);
    if had_query {
        format!("{url}?[redacted]")
    } else {
        url.to_string()
    }
}

impl std::fmt::Debug for BrowserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserRequest")
            .field("profile", &self.profile.name)
            .field("label", &self.label)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field(
                "authorization_url",
                &url_without_query(&self.authorization_url),
            )
            .field("state", &"[redacted]")
            .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("request", &self.request)
            .field("verifier", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::oauth;

    fn profile() -> Profile {
        Profile {
            issuer: Some("https://issuer.example".into()),
            authorization_endpoint: "https://issuer.example/authorize".parse().unwrap(),
            token_endpoint: "https://issuer.example/token".parse().unwrap(),
            jwks_uri: Some("https://issuer.example/jwks".parse().unwrap()),
            scopes: vec!["openid".into(), "email".into()],
            auth_method: Default::default(),
            ..Profile::for_tests("p")
        }
    }

    #[test]
    fn debug_output_never_shows_state_nonce_or_verifier() {
        let profile = profile();
        let redirect: Url = "http://127.0.0.1:4711/callback".parse().unwrap();
        let start = oauth::start_authorization(&profile, &redirect, None);
        let secrets = [
            start.state.secret().clone(),
            start.verifier.secret().clone(),
            start.nonce.as_ref().unwrap().secret().to_string(),
        ];
        let pending = PendingLogin {
            request: BrowserRequest {
                profile: profile.clone(),
                label: Some("work".into()),
                redirect_uri: redirect.clone(),
                authorization_url: start.url,
                state: start.state,
                nonce: start.nonce,
            },
            verifier: start.verifier,
            dpop_key: None,
        };
        let implicit = oauth::start_implicit(&profile, &redirect);
        let implicit_secrets = [
            implicit.state.secret().clone(),
            implicit.nonce.as_ref().unwrap().secret().to_string(),
        ];
        let pending_implicit = PendingImplicitLogin {
            request: BrowserRequest {
                profile,
                label: None,
                redirect_uri: redirect,
                authorization_url: implicit.url,
                state: implicit.state,
                nonce: implicit.nonce,
            },
        };
        let debug = format!("{pending:?} {pending_implicit:?}");
        for secret in secrets.iter().chain(&implicit_secrets) {
            assert!(!debug.contains(secret.as_str()), "{secret} in {debug}");
        }
        // What is not secret stays readable.
        assert!(
            debug.contains("https://issuer.example/authorize?[redacted]")
                && debug.contains("http://127.0.0.1:4711/callback")
                && debug.contains("work"),
            "{debug}"
        );
    }
}
