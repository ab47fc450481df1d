//! Profiles, accounts and presets as a front end shows them: plain values, the computed
//! fields (the redirect URI to register, whether a secret is needed) worked out here once.
//! The desktop app sends them to its window as they are (their TypeScript, under the names the
//! window knows, comes from the `ts` feature). None holds a token or a secret.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use super::redirect::redirect_to_register;
use crate::model::account::Account;
use crate::model::presets::{Filled, Preset, SecretNeed, Source};
use crate::protocol::discovery::Metadata;
use crate::protocol::network;
use crate::{AuthMethod, Endpoints, Grant, LegacyGrant, Profile, RedirectMode};

/// A profile as the UI shows it. The client secret itself never leaves the backend.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ProfileDto"))]
pub struct ProfileView {
    pub name: String,
    pub client_id: String,
    pub issuer: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub scopes: Vec<String>,
    pub auth_method: AuthMethod,
    /// Whether the profile is a confidential client (its secret is in the keychain).
    pub has_client_secret: bool,
    /// A confidential client whose secret the keychain does not hold (e.g. imported from a
    /// shared file): it must be entered before a sign-in.
    pub client_secret_missing: bool,
    pub redirect_mode: RedirectMode,
    /// A fixed redirect URI from the profile, if any.
    pub redirect_uri: Option<String>,
    /// The exact redirect URI to register at the provider.
    pub redirect_uri_to_register: String,
    pub grant: Grant,
    /// Where the device flow starts; `None`: the profile cannot sign in with a code.
    pub device_authorization_endpoint: Option<String>,
    pub extra_authorize_params: Vec<Param>,
    pub extra_token_params: Vec<Param>,
    /// Legacy grants the profile opted in to (RFC 9700 discourages them).
    pub allowed_legacy_grants: Vec<LegacyGrant>,
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

impl From<&Profile> for ProfileView {
    /// `client_secret_missing` is false: only the keychain knows (see [`Self::may_lack_secret`]).
    fn from(p: &Profile) -> Self {
        ProfileView {
            name: p.name.clone(),
            client_id: p.client_id.clone(),
            issuer: p.issuer.clone(),
            authorization_endpoint: p.authorization_endpoint.to_string(),
            token_endpoint: p.token_endpoint.to_string(),
            revocation_endpoint: text(&p.revocation_endpoint),
            userinfo_endpoint: text(&p.userinfo_endpoint),
            scopes: p.scopes.clone(),
            auth_method: p.auth_method,
            has_client_secret: p.auth_method.needs_secret(),
            client_secret_missing: false,
            redirect_mode: p.redirect,
            redirect_uri: text(&p.redirect_uri),
            redirect_uri_to_register: redirect_to_register(p).uri,
            grant: p.grant,
            device_authorization_endpoint: text(&p.device_authorization_endpoint),
            extra_authorize_params: params(&p.extra_authorize_params),
            extra_token_params: params(&p.extra_token_params),
            allowed_legacy_grants: p.allowed_legacy_grants.to_vec(),
            proxy: p.proxy.as_ref().map(network::redact),
            ca_file: p.ca_file.as_ref().map(|f| f.display().to_string()),
            dpop: p.dpop,
            par: p.par,
            resources: p.resources.clone(),
        }
    }
}

impl ProfileView {
    /// Whether the keychain is worth asking for the client secret: a confidential client none
    /// of whose `accounts` signed in (a sign-in needed the secret).
    pub fn may_lack_secret(&self, accounts: &[AccountView]) -> bool {
        self.has_client_secret && !accounts.iter().any(|a| a.profile == self.name)
    }
}

/// One signed-in account: metadata only.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "AccountDto"))]
pub struct AccountView {
    /// `PROFILE/LABEL`, what the CLI calls it.
    pub id: String,
    pub profile: String,
    pub label: String,
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    /// Unix seconds.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub expires_at: Option<i64>,
    pub has_refresh_token: bool,
    /// Why the account needs a new sign-in, when it does.
    pub needs_sign_in: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub signed_in_at: i64,
    /// Its tokens are DPoP-bound (RFC 9449): a copied token needs a proof to be of use.
    pub dpop_bound: bool,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
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

/// One extra request parameter (`key=value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ParamDto"))]
pub struct Param {
    pub key: String,
    pub value: String,
}

/// `params` as rows, in key order.
pub fn params(params: &BTreeMap<String, String>) -> Vec<Param> {
    params
        .iter()
        .map(|(k, v)| Param {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// A legacy grant and the engine's warning about it, for the form and the sign-in screens.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LegacyGrantInfo {
    pub grant: LegacyGrant,
    pub warning: String,
}

/// Every legacy grant a profile may opt in to, with its warning.
pub fn legacy_grants() -> Vec<LegacyGrantInfo> {
    [LegacyGrant::Implicit, LegacyGrant::Password]
        .into_iter()
        .map(|grant| LegacyGrantInfo {
            grant,
            warning: grant.warning().to_string(),
        })
        .collect()
}

/// A setting a preset takes (`tenant`, `base_url`), written `{name}` in its URLs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PresetVariableDto"))]
pub struct PresetVariable {
    pub name: String,
    pub default: Option<String>,
    pub help: String,
}

/// A provider preset, built in or from the config directory's `presets/`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PresetDto"))]
pub struct PresetView {
    pub name: String,
    pub title: String,
    pub description: String,
    /// Where the provider documents client registration.
    pub docs: Option<String>,
    pub built_in: bool,
    pub variables: Vec<PresetVariable>,
}

impl From<Preset> for PresetView {
    fn from(p: Preset) -> Self {
        PresetView {
            built_in: p.source == Source::BuiltIn,
            variables: p
                .variables
                .iter()
                .map(|(name, v)| PresetVariable {
                    name: name.clone(),
                    default: v.default.clone(),
                    help: v.help.clone(),
                })
                .collect(),
            name: p.name,
            title: p.title,
            description: p.description,
            docs: p.docs,
        }
    }
}

/// What a preset fills into the form once its settings have values.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FilledPresetDto"))]
pub struct FilledPreset {
    /// Discover from this issuer…
    pub issuer: Option<String>,
    /// …or these endpoints (when `issuer` is `null`).
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub scopes: Vec<String>,
    pub auth_method: Option<AuthMethod>,
    pub redirect_mode: RedirectMode,
    /// The provider refuses token requests without the client secret.
    pub client_secret_required: bool,
    pub extra_authorize_params: Vec<Param>,
    pub extra_token_params: Vec<Param>,
}

impl From<Filled> for FilledPreset {
    fn from(f: Filled) -> Self {
        let (issuer, authorization, token, revocation, userinfo) = match f.endpoints {
            Endpoints::Issuer(i) => (Some(i), None, None, None, None),
            Endpoints::Manual(m) => (
                None,
                Some(m.authorization.to_string()),
                Some(m.token.to_string()),
                text(&m.revocation),
                text(&m.userinfo),
            ),
        };
        FilledPreset {
            issuer,
            authorization_endpoint: authorization,
            token_endpoint: token,
            revocation_endpoint: revocation,
            userinfo_endpoint: userinfo,
            device_authorization_endpoint: text(&f.extras.device_authorization_endpoint),
            scopes: f.scopes,
            auth_method: f.auth_method,
            redirect_mode: f.redirect,
            client_secret_required: f.client_secret == SecretNeed::Required,
            extra_authorize_params: params(&f.extras.extra_authorize_params),
            extra_token_params: params(&f.extras.extra_token_params),
        }
    }
}

/// What discovery found for an issuer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "DiscoveryDto"))]
pub struct Discovered {
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub pkce_s256: bool,
    pub iss_parameter: bool,
}

impl From<Metadata> for Discovered {
    fn from(m: Metadata) -> Self {
        Discovered {
            pkce_s256: m
                .code_challenge_methods_supported
                .as_ref()
                .is_some_and(|v| v.iter().any(|x| x == "S256")),
            iss_parameter: m.authorization_response_iss_parameter_supported,
            authorization_endpoint: text(&m.authorization_endpoint),
            token_endpoint: text(&m.token_endpoint),
            revocation_endpoint: text(&m.revocation_endpoint),
            userinfo_endpoint: text(&m.userinfo_endpoint),
            issuer: m.issuer,
            scopes_supported: m.scopes_supported,
        }
    }
}

fn text(url: &Option<Url>) -> Option<String> {
    url.as_ref().map(Url::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(extra: &str) -> Profile {
        let mut p: Profile = toml::from_str(&format!(
            "client_id = 'c'\nauthorization_endpoint = 'https://a.example/auth'\ntoken_endpoint = 'https://a.example/token'\n{extra}"
        ))
        .unwrap();
        p.name = "p".into();
        p
    }

    #[test]
    fn a_profile_view_says_what_to_register_and_hides_proxy_credentials() {
        let v = ProfileView::from(&profile(
            "auth_method = 'post'\nproxy = 'http://proxy.example:3128'\n[extra_token_params]\naudience = 'api'",
        ));
        assert_eq!(v.redirect_uri_to_register, "http://127.0.0.1/callback");
        assert!(v.has_client_secret);
        assert!(!v.client_secret_missing);
        assert_eq!(
            v.extra_token_params,
            [Param {
                key: "audience".into(),
                value: "api".into()
            }]
        );
        assert_eq!(v.proxy.as_deref(), Some("http://proxy.example:3128/"));
        let json = serde_json::to_value(&v).unwrap();
        assert!(json.get("redirectUriToRegister").is_some(), "{json}");
        assert!(json.get("clientSecret").is_none(), "{json}");
    }

    #[test]
    fn only_a_confidential_client_without_accounts_may_lack_its_secret() {
        let public = ProfileView::from(&profile(""));
        let confidential = ProfileView::from(&profile("auth_method = 'basic'"));
        assert!(!public.may_lack_secret(&[]));
        assert!(confidential.may_lack_secret(&[]));
        let account: Account =
            toml::from_str("profile = 'p'\nlabel = 'a'\nsigned_in_at = 1").unwrap();
        assert!(!confidential.may_lack_secret(&[AccountView::from(&account)]));
    }
}
