//! The window's profile form and preset picker, mapped into the shared layer's types
//! (`latchkey::api`), and its errors worded for the form.

use std::collections::BTreeMap;
use std::path::PathBuf;

use latchkey::ProfileExtras;
use latchkey::api::{EndpointsForm, FormError, PresetChoice, ProfileForm};
use latchkey::engine::ResourceProfile;
use latchkey::protocol::network::Network;
use oauth2::ClientSecret;
use url::Url;

use crate::dto::{EndpointsInput, ErrorDto, ErrorKindDto, ParamDto, ProfileInput};

pub fn usage(msg: impl Into<String>) -> ErrorDto {
    ErrorDto::new(ErrorKindDto::Usage, msg)
}

impl ProfileInput {
    /// The form as the shared layer takes it, and the client secret when one was typed.
    pub fn into_form(self) -> Result<(ProfileForm, Option<ClientSecret>), ErrorDto> {
        let endpoints = match self.endpoints {
            EndpointsInput::Issuer { issuer } => {
                let issuer = issuer.trim();
                if issuer.is_empty() {
                    return Err(usage(
                        "Enter the issuer URL, or switch to entering endpoints by hand.",
                    ));
                }
                EndpointsForm {
                    issuer: Some(issuer.to_string()),
                    ..Default::default()
                }
            }
            EndpointsInput::Resource { .. } => {
                return Err(usage(
                    "A profile from a resource URL is added once; its endpoints cannot be edited.",
                ));
            }
            // Only a machine client may leave the authorization endpoint out.
            EndpointsInput::Manual {
                authorization,
                token,
                revocation,
                userinfo,
            } => EndpointsForm {
                issuer: None,
                authorization: optional_url(Some(authorization), "authorization endpoint")?,
                token: Some(parse_url(&token, "token endpoint")?),
                revocation: optional_url(revocation, "revocation endpoint")?,
                userinfo: optional_url(userinfo, "userinfo endpoint")?,
            },
        };
        let network = network(self.proxy.map(|p| p.expose()), self.ca_file)?;
        let form = ProfileForm {
            name: self.name.trim().to_string(),
            client_id: self.client_id,
            preset: None,
            endpoints,
            scopes: self.scopes,
            auth_method: self.auth_method,
            redirect: Some(self.redirect_mode),
            redirect_uri: optional_url(self.redirect_uri, "redirect URI")?,
            extras: ProfileExtras {
                grant: self.grant,
                device_authorization_endpoint: optional_url(
                    self.device_authorization_endpoint,
                    "device authorization endpoint",
                )?,
                extra_authorize_params: params(self.extra_authorize_params, "authorization")?,
                extra_token_params: params(self.extra_token_params, "token request")?,
                allowed_legacy_grants: self.allowed_legacy_grants.into_iter().collect(),
                network,
                resources: self
                    .resources
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty())
                    .collect(),
                dpop: self.dpop.unwrap_or(false),
                par: self.par.unwrap_or(false),
            },
        };
        let secret = self
            .client_secret
            .map(|s| s.expose())
            .filter(|s| !s.is_empty())
            .map(ClientSecret::new);
        Ok((form, secret))
    }
}

impl ProfileInput {
    /// The form of a profile added from a resource URL (RFC 9728 discovery), when it is one.
    pub fn into_resource_profile(
        self,
    ) -> Result<Result<(ResourceProfile, Option<ClientSecret>), ProfileInput>, ErrorDto> {
        let EndpointsInput::Resource { resource } = &self.endpoints else {
            return Ok(Err(self));
        };
        let resource = resource.trim().to_string();
        if resource.is_empty() {
            return Err(usage("Enter the resource URL, e.g. the MCP server's URL."));
        }
        let network = network(self.proxy.map(|p| p.expose()), self.ca_file)?;
        let client_id = Some(self.client_id.trim().to_string()).filter(|c| !c.is_empty());
        let secret = self
            .client_secret
            .map(|s| s.expose())
            .filter(|s| !s.is_empty())
            .map(ClientSecret::new);
        let request = ResourceProfile {
            name: self.name.trim().to_string(),
            resource,
            issuer: None,
            client_id,
            client_metadata_url: None,
            scopes: self.scopes,
            auth_method: self.auth_method,
            redirect_uri: optional_url(self.redirect_uri, "redirect URI")?,
            extras: ProfileExtras {
                network,
                dpop: self.dpop.unwrap_or(false),
                par: self.par.unwrap_or(false),
                ..Default::default()
            },
        };
        Ok(Ok((request, secret)))
    }
}

impl From<FormError> for ErrorDto {
    fn from(e: FormError) -> Self {
        match e {
            FormError::Engine(e) => e.into(),
            FormError::NoEndpoints => {
                usage("Enter the issuer URL, or the authorization and token endpoints.")
            }
            FormError::TokenEndpointAlone => usage(
                "Enter the authorization endpoint too: only a machine client (client credentials) needs the token endpoint alone.",
            ),
            FormError::SecretRequired { preset } => usage(format!(
                "The {preset} preset's provider needs the client secret: enter it."
            )),
        }
    }
}

/// The form's proxy and CA file. The proxy's parse error never repeats it (it may hold a
/// password); the engine refuses credentials and checks the CA file.
pub fn network(proxy: Option<String>, ca_file: Option<String>) -> Result<Network, ErrorDto> {
    let proxy = match proxy.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(Url::parse(p).map_err(|_| {
            usage("The proxy is not a URL; enter it as http://HOST:PORT (or https://).")
        })?),
    };
    let ca_file = ca_file
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .map(PathBuf::from);
    Ok(Network { proxy, ca_file })
}

fn parse_url(value: &str, what: &str) -> Result<Url, ErrorDto> {
    Url::parse(value.trim()).map_err(|e| usage(format!("The {what} is not a valid URL ({e}).")))
}

fn optional_url(value: Option<String>, what: &str) -> Result<Option<Url>, ErrorDto> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_url(v, what).map(Some),
    }
}

/// The form's `key=value` rows: blank rows are skipped, a value without a key or a key given
/// twice is refused. The engine checks the names themselves (no `state`, `client_id`…).
fn params(rows: Vec<ParamDto>, what: &str) -> Result<BTreeMap<String, String>, ErrorDto> {
    let mut out = BTreeMap::new();
    for ParamDto { key, value } in rows {
        let key = key.trim().to_string();
        if key.is_empty() {
            if value.trim().is_empty() {
                continue;
            }
            return Err(usage(format!(
                "An extra {what} parameter has a value but no name."
            )));
        }
        if out.insert(key.clone(), value).is_some() {
            return Err(usage(format!(
                "The extra {what} parameter `{key}` is given twice."
            )));
        }
    }
    Ok(out)
}

/// The preset picker's choice: blank settings take their default.
pub fn preset_choice(name: String, values: Vec<ParamDto>) -> PresetChoice {
    PresetChoice {
        name,
        values: values
            .into_iter()
            .filter(|p| !p.value.trim().is_empty())
            .map(|p| (p.key, p.value))
            .collect(),
    }
}
