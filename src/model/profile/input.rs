//! What a user gives to add or change a profile, before discovery and checks turn it into a
//! [`Profile`](super::Profile).

use std::collections::BTreeMap;

use url::Url;

use crate::protocol::network::Network;

use super::kinds::{AuthMethod, Grant, LegacyGrant, RedirectMode};

/// Where a new profile's endpoints come from.
#[derive(Debug, Clone)]
pub enum Endpoints {
    /// Discover them from this issuer.
    Issuer(String),
    /// Given by hand, for plain OAuth 2.0 providers.
    Manual(Box<ManualEndpoints>),
}

#[derive(Debug, Clone)]
pub struct ManualEndpoints {
    pub authorization: Url,
    pub token: Url,
    pub revocation: Option<Url>,
    pub userinfo: Option<Url>,
}

/// What a user gives to add a profile.
#[derive(Debug, Clone)]
pub struct NewProfile {
    pub name: String,
    pub client_id: String,
    pub endpoints: Endpoints,
    pub scopes: Vec<String>,
    /// `None`: `basic` with a secret, `none` without.
    pub auth_method: Option<AuthMethod>,
    pub redirect: RedirectMode,
    pub redirect_uri: Option<Url>,
}

/// What a profile carries beyond [`NewProfile`]: its grant, the device authorization endpoint,
/// extra request parameters and the legacy grants it allows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileExtras {
    pub grant: Grant,
    /// Overrides what discovery says (or gives it, without discovery).
    pub device_authorization_endpoint: Option<Url>,
    pub extra_authorize_params: BTreeMap<String, String>,
    pub extra_token_params: BTreeMap<String, String>,
    /// Legacy grants the profile opts in to (RFC 9700 discourages them).
    pub allowed_legacy_grants: Vec<LegacyGrant>,
    /// The profile's proxy and CA file (a preset never sets them).
    pub network: Network,
    /// RFC 8707 resource indicators of every authorization, token and refresh request.
    pub resources: Vec<String>,
    /// DPoP-bound tokens (RFC 9449).
    pub dpop: bool,
    /// Pushed authorization requests (RFC 9126) even when the provider does not require them.
    pub par: bool,
}
