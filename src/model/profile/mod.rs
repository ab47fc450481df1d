//! OAuth client profiles: who the client is and where its provider's endpoints are.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Hint, Result};
use crate::protocol::idtoken;
use crate::protocol::network::{self, Network};

mod input;
mod kinds;
mod validate;

pub use input::{Endpoints, ManualEndpoints, NewProfile, ProfileExtras};
pub use kinds::{AuthMethod, DEEP_LINK_REDIRECT, Grant, LegacyGrant, RedirectMode};
pub use validate::{
    is_loopback, parse_base_url, parse_param, parse_scopes, validate_endpoint,
    validate_extra_params, validate_name, validate_new_redirect_uri, validate_redirect_uri,
    validate_resource,
};

/// One registered OAuth client. Stored in `profiles.toml`; never holds a secret (the client
/// secret, when there is one, is in the keychain).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(skip)]
    pub name: String,
    pub client_id: String,
    /// The OpenID Connect / RFC 8414 issuer the endpoints were discovered from.
    pub issuer: Option<String>,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub auth_method: AuthMethod,
    #[serde(default)]
    pub redirect: RedirectMode,
    /// A fixed redirect URI, when the provider needs one registered exactly.
    pub redirect_uri: Option<Url>,
    /// The provider sends RFC 9207 `iss` in authorization responses (from discovery).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub authorization_response_iss_parameter_supported: bool,
    /// The id_token signature algorithms accepted (discovery's
    /// `id_token_signing_alg_values_supported` that Latchkey supports); empty means RS256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Clock-skew leeway for id_token `exp` and `iat`, in seconds (default 120, at most 600).
    pub id_token_leeway_seconds: Option<u64>,
    /// How tokens are obtained; `authorization-code` unless this is a machine client.
    #[serde(default, skip_serializing_if = "Grant::is_default")]
    pub grant: Grant,
    /// The RFC 8628 device authorization endpoint, for `latchkey login --device`.
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
    /// The HTTPS proxy of this profile's requests; wins over `HTTPS_PROXY`/`ALL_PROXY`. Never
    /// with credentials (those stay in the environment).
    pub proxy: Option<Url>,
    /// A PEM file of CAs trusted for this profile's requests besides the OS store.
    pub ca_file: Option<PathBuf>,
    /// RFC 8707 resource indicators, sent as `resource` on every authorization, token and
    /// refresh request (an MCP server's URL, an API that wants one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The RFC 9728 protected resource metadata the provider was discovered from.
    pub resource_metadata: Option<Url>,
    /// How Latchkey registered the client, when it did (RFC 7591); none: pre-registered.
    pub registration: Option<Registration>,
    /// Its tokens are DPoP-bound (RFC 9449): each account gets a key of its own at sign-in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop: bool,
    /// Pushed authorization requests (RFC 9126): the browser gets only a `request_uri`. Set by
    /// `--par` or by the provider's `require_pushed_authorization_requests`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub par: bool,
    pub pushed_authorization_request_endpoint: Option<Url>,
    /// The client id is the URL of a client ID metadata document (the MCP spec's CIMD).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_metadata_document: bool,
}

/// A client Latchkey registered itself at `profile add` (RFC 7591 dynamic registration). Its
/// secret and registration access token are in the keychain, never here.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// The AS's registration endpoint the client was registered at.
    pub registration_endpoint: Url,
    /// The RFC 7592 client configuration endpoint: `profile remove` deletes the client there.
    pub registration_client_uri: Option<Url>,
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
            "profile `{}` does not allow the {} grant: {}",
            self.name,
            grant.as_str(),
            grant.warning(),
        ))
        .with_hint(Hint::AllowLegacyGrant {
            grant: grant.as_str().to_string(),
        }))
    }

    /// The proxy and CA file of this profile's requests.
    pub fn network(&self) -> Network {
        Network {
            proxy: self.proxy.clone(),
            ca_file: self.ca_file.clone(),
        }
    }

    pub fn leeway_seconds(&self) -> i64 {
        self.id_token_leeway_seconds
            .map_or(idtoken::LEEWAY_SECONDS, |s| s as i64)
    }

    /// What this profile's id_tokens are checked against.
    pub fn id_token_verifier(&self) -> idtoken::Verifier {
        idtoken::Verifier {
            profile: self.name.clone(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            algorithms: idtoken::allowed_algorithms(&self.id_token_signing_alg_values_supported),
            algorithms_discovered: !self.id_token_signing_alg_values_supported.is_empty(),
            leeway: self.leeway_seconds(),
        }
    }

    /// What of the provider differs in `other`: the settings that say where the client secret
    /// and the accounts' refresh tokens are sent (issuer, client id, authorization, token,
    /// revocation, device and PAR endpoints). Tokens one provider issued must never reach another. A
    /// revocation or device endpoint dropped, or moved within the token endpoint's origin, is
    /// the same provider.
    pub fn provider_changes(&self, other: &Profile) -> Vec<&'static str> {
        let moved = |was: &Option<Url>, now: &Option<Url>| {
            now.as_ref().is_some_and(|url| {
                was.as_ref() != Some(url) && url.origin() != self.token_endpoint.origin()
            })
        };
        let revocation_moved = moved(&self.revocation_endpoint, &other.revocation_endpoint);
        // The device flow sends the client secret there.
        let device_moved = moved(
            &self.device_authorization_endpoint,
            &other.device_authorization_endpoint,
        );
        // So does a pushed authorization request (or the client's signed assertion).
        let par_moved = moved(
            &self.pushed_authorization_request_endpoint,
            &other.pushed_authorization_request_endpoint,
        );
        [
            (self.issuer != other.issuer, "issuer"),
            (self.client_id != other.client_id, "client id"),
            (
                self.authorization_endpoint != other.authorization_endpoint,
                "authorization endpoint",
            ),
            (
                self.token_endpoint != other.token_endpoint,
                "token endpoint",
            ),
            (revocation_moved, "revocation endpoint"),
            (device_moved, "device authorization endpoint"),
            (par_moved, "pushed authorization request endpoint"),
        ]
        .into_iter()
        .filter_map(|(changed, what)| changed.then_some(what))
        .collect()
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
        // Printed by `profile list/show`, and a shared file may come from anywhere: no escape
        // sequence or bidi control may hide in them.
        let texts = [("client_id", &self.client_id)]
            .into_iter()
            .chain(self.issuer.iter().map(|i| ("issuer", i)))
            .chain(self.scopes.iter().map(|s| ("scope", s)))
            .chain(self.resources.iter().map(|r| ("resource", r)));
        for (what, text) in texts {
            if text
                .chars()
                .any(crate::model::untrusted::is_hidden_or_control)
            {
                return Err(Error::InvalidInput(format!(
                    "profile `{}` has a {what} with control or invisible characters: {}",
                    self.name,
                    crate::model::untrusted::sanitize(text)
                )));
            }
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
            (
                &self.pushed_authorization_request_endpoint,
                "pushed authorization request endpoint",
            ),
        ] {
            if let Some(url) = url {
                validate_endpoint(url, what)?;
            }
        }
        if let Some(uri) = &self.redirect_uri {
            validate_redirect_uri(uri, self.redirect)?;
        }
        for resource in &self.resources {
            validate_resource(resource)?;
        }
        let registration = self.registration.as_ref();
        for (url, what) in [
            (self.resource_metadata.as_ref(), "resource metadata URL"),
            (
                registration.map(|r| &r.registration_endpoint),
                "registration endpoint",
            ),
            (
                registration.and_then(|r| r.registration_client_uri.as_ref()),
                "registration client URI",
            ),
        ] {
            if let Some(url) = url {
                validate_endpoint(url, what)?;
            }
        }
        if let Some(proxy) = &self.proxy {
            network::check_proxy(proxy)?;
        }
        if self.ca_file.as_ref().is_some_and(|p| !p.is_absolute()) {
            return Err(Error::InvalidInput(format!(
                "profile `{}` has a ca_file that is not an absolute path",
                self.name
            )));
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
            .is_some_and(|s| s > idtoken::MAX_LEEWAY_SECONDS)
        {
            return Err(Error::InvalidInput(format!(
                "profile `{}` has id_token_leeway_seconds above {}; a wider leeway would make token expiry meaningless",
                self.name,
                idtoken::MAX_LEEWAY_SECONDS
            )));
        }
        Ok(())
    }
}

impl Profile {
    /// A plain OAuth public client at `https://as.example`, for unit tests and the fuzz targets
    /// to adjust.
    #[doc(hidden)]
    pub fn for_tests(name: &str) -> Profile {
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
            proxy: None,
            ca_file: None,
            resources: vec![],
            resource_metadata: None,
            registration: None,
            dpop: false,
            par: false,
            pushed_authorization_request_endpoint: None,
            client_metadata_document: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_par_endpoint_off_the_token_endpoints_origin_is_another_provider() {
        let old = Profile::for_tests("p");
        let mut new = old.clone();
        new.pushed_authorization_request_endpoint = Some("https://as.example/par".parse().unwrap());
        assert!(old.provider_changes(&new).is_empty());
        new.pushed_authorization_request_endpoint =
            Some("https://evil.example/par".parse().unwrap());
        assert_eq!(
            old.provider_changes(&new),
            ["pushed authorization request endpoint"]
        );
    }
}
