//! Profiles from a protected resource's URL (an MCP server): RFC 9728 discovery of its
//! authorization server, then a pre-registered client or one registered once (RFC 7591), and
//! RFC 8707 resource indicators on every request. Removal deletes the registration (RFC 7592).

use oauth2::{AccessToken, ClientSecret};
use url::Url;

use super::{Latchkey, registration_token_key};
use crate::error::{Error, Result};
use crate::model::profile::{
    AuthMethod, Endpoints, NewProfile, Profile, ProfileExtras, RedirectMode, Registration,
    validate_name, validate_new_redirect_uri, validate_resource,
};
use crate::protocol::discovery::Metadata;
use crate::protocol::network;
use crate::protocol::registration::{self, ClientRequest, Registered};
use crate::protocol::resource;

/// What a user gives to add a profile from a resource URL.
#[derive(Debug, Clone, Default)]
pub struct ResourceProfile {
    pub name: String,
    /// The resource (e.g. `https://mcp.example.com/mcp`): discovered from, and sent as
    /// `resource` on every request.
    pub resource: String,
    /// Chooses among the metadata's `authorization_servers` (needed when it lists several).
    pub issuer: Option<String>,
    /// A pre-registered client: wins over registration.
    pub client_id: Option<String>,
    /// A client ID metadata document (the MCP authorization spec's CIMD): its URL is the client
    /// id, when the authorization server accepts them; before dynamic registration.
    pub client_metadata_url: Option<Url>,
    /// Empty: the metadata's `scopes_supported`, if any.
    pub scopes: Vec<String>,
    pub auth_method: Option<AuthMethod>,
    /// A fixed loopback redirect URI; none: one on a port chosen now.
    pub redirect_uri: Option<Url>,
    /// Extra parameters, network, and more resource indicators (`resources`).
    pub extras: ProfileExtras,
}

/// How the client of a profile came to be, for the front ends to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientOrigin {
    PreRegistered,
    /// RFC 7591 at `profile add`.
    Dynamic,
    /// A client ID metadata document: the client id is its https URL.
    MetadataDocument,
}

impl ClientOrigin {
    pub fn of(profile: &Profile) -> Self {
        match profile.registration {
            Some(_) => ClientOrigin::Dynamic,
            None if profile.client_metadata_document => ClientOrigin::MetadataDocument,
            None => ClientOrigin::PreRegistered,
        }
    }
}

impl Latchkey {
    /// Adds a profile for a protected resource: its metadata (RFC 9728) names the authorization
    /// server, whose metadata gives the endpoints; the client is `client_id` or one registered
    /// now (RFC 7591), once for the profile's lifetime, on a fixed loopback redirect URI. On any
    /// failure nothing is stored and a client registered on the way is deleted again.
    pub async fn add_resource_profile(
        &self,
        req: ResourceProfile,
        secret: Option<ClientSecret>,
    ) -> Result<Profile> {
        validate_name(&req.name, "profile")?;
        if self.config.profile(&req.name).is_ok() {
            return Err(Error::ProfileExists(req.name));
        }
        if secret.is_some() && req.client_id.is_none() {
            return Err(Error::InvalidInput(
                "a client secret was given without the client id it belongs to (--client-id)"
                    .into(),
            ));
        }
        validate_resource(&req.resource)?;
        let network = req.extras.network.clone();
        if let Some(proxy) = &network.proxy {
            network::check_proxy(proxy)?;
        }
        if let Some(path) = &network.ca_file {
            network::load_ca_file(path)?;
        }
        let resource_url = Url::parse(&req.resource)
            .map_err(|e| Error::InvalidInput(format!("the resource is not a URL: {e}")))?;
        let found = resource::discover(&self.http(&network, &resource_url)?, &req.resource).await?;
        let issuer = resource::choose_issuer(&found.metadata, req.issuer.as_deref())?;
        let server = self.discover_via(&issuer, &network).await?;
        // Checked before a client is registered: a refusal then leaves nothing at the server.
        if req.extras.par && server.pushed_authorization_request_endpoint.is_none() {
            return Err(Error::InvalidInput(format!(
                "--par: the authorization server {issuer} names no pushed_authorization_request_endpoint"
            )));
        }
        if req.client_id.is_none() && req.auth_method.is_some_and(|m| m != AuthMethod::None) {
            return Err(Error::InvalidInput(
                "--auth-method goes with --client-id: a client Latchkey registers (or a client ID metadata document) authenticates as the server registered it".into(),
            ));
        }
        let scopes = if req.scopes.is_empty() {
            found.metadata.scopes_supported.clone().unwrap_or_default()
        } else {
            req.scopes
        };

        let mut extras = req.extras;
        let metadata_document = req.client_id.is_none() && req.client_metadata_url.is_some();
        let (client_id, redirect_uri, secret, auth_method, registered) = match (
            req.client_id,
            req.client_metadata_url,
        ) {
            (Some(id), _) => {
                let secret = super::client_secrets::client_key(req.auth_method, secret, true)?;
                (id, req.redirect_uri, secret, req.auth_method, None)
            }
            (None, Some(url)) => {
                if !server.client_id_metadata_document_supported {
                    return Err(Error::InvalidInput(format!(
                        "--client-metadata-url: the authorization server {issuer} does not accept client ID metadata documents (its metadata lacks client_id_metadata_document_supported){}",
                        if server.registration_endpoint.is_some() {
                            "; leave the flag out and Latchkey registers a client (RFC 7591)"
                        } else {
                            ""
                        }
                    )));
                }
                let redirect = self
                    .metadata_document_redirect(&url, req.redirect_uri, &network)
                    .await?;
                (
                    url.to_string(),
                    Some(redirect),
                    None,
                    Some(AuthMethod::None),
                    None,
                )
            }
            (None, None) => {
                let Some(endpoint) = server.registration_endpoint.clone() else {
                    return Err(no_client(&issuer, &server));
                };
                let redirect_uri = match req.redirect_uri {
                    Some(uri) => uri,
                    None => fixed_loopback_redirect()?,
                };
                validate_new_redirect_uri(&redirect_uri, RedirectMode::Loopback)?;
                let http = self.http(&network, &endpoint)?;
                let request = ClientRequest {
                    redirect_uri: redirect_uri.clone(),
                    scopes: scopes.clone(),
                    client_name: format!("Latchkey ({})", req.name),
                };
                let reg = registration::register(&http, &endpoint, &request).await?;
                extras.dpop |= reg.dpop_bound_access_tokens;
                let (secret, method) = match registered_auth(&reg) {
                    Ok(auth) => auth,
                    Err(e) => {
                        self.forget_registration(&reg, &network, None).await;
                        return Err(e);
                    }
                };
                (
                    reg.client_id.clone(),
                    Some(redirect_uri),
                    secret,
                    Some(method),
                    Some((endpoint, reg)),
                )
            }
        };

        let mut resources = vec![req.resource.clone()];
        resources.extend(extras.resources.iter().cloned());
        let extras = ProfileExtras {
            resources,
            ..extras
        };
        let new = NewProfile {
            name: req.name.clone(),
            client_id,
            endpoints: Endpoints::Issuer(issuer),
            scopes,
            auth_method,
            redirect: RedirectMode::Loopback,
            redirect_uri,
        };
        let name = req.name;
        let result = async {
            let mut profile = self.build_profile(new, extras, secret.is_some()).await?;
            profile.resource_metadata = Some(found.url.clone());
            profile.client_metadata_document = metadata_document;
            profile.registration = registered.as_ref().map(|(endpoint, reg)| Registration {
                registration_endpoint: endpoint.clone(),
                registration_client_uri: reg.registration_client_uri.clone(),
            });
            profile.validate()?;
            if let Some((_, reg)) = &registered
                && let Some(token) = &reg.registration_access_token
            {
                self.keychain
                    .set(&registration_token_key(&name), token.as_bytes().to_vec())
                    .await?;
            }
            self.store_new_profile(profile, secret).await
        }
        .await;
        if let (Err(e), Some((_, reg))) = (&result, &registered) {
            // Another profile of that name appeared meanwhile: its token entry stays.
            let key =
                (!matches!(e, Error::ProfileExists(_))).then(|| registration_token_key(&name));
            self.forget_registration(reg, &network, key).await;
        }
        result
    }

    /// The registration access token of `profile`'s registered client, if the keychain holds
    /// one.
    pub(super) async fn registration_token(&self, profile: &str) -> Result<Option<AccessToken>> {
        let Some(token) = self.keychain.get(&registration_token_key(profile)).await? else {
            return Ok(None);
        };
        let token = String::from_utf8(token).map_err(|_| {
            Error::InvalidInput(format!(
                "the registration access token of profile `{profile}` in the keychain is not text"
            ))
        })?;
        Ok(Some(AccessToken::new(token)))
    }

    /// Deletes the client Latchkey registered for `profile` (RFC 7592 DELETE with its
    /// registration access `token`). `Ok(false)`: the AS gave no registration client URI.
    pub async fn delete_registration(&self, profile: &Profile, token: &str) -> Result<bool> {
        let Some(uri) = profile
            .registration
            .as_ref()
            .and_then(|r| r.registration_client_uri.clone())
        else {
            return Ok(false);
        };
        let http = self.http(&profile.network(), &uri)?;
        registration::delete(&http, &uri, token).await?;
        Ok(true)
    }

    /// The redirect URI of a client ID metadata document: `redirect` when the document lists
    /// it, else its first loopback one. The document must name itself as `client_id`.
    async fn metadata_document_redirect(
        &self,
        url: &Url,
        redirect: Option<Url>,
        network: &network::Network,
    ) -> Result<Url> {
        crate::model::profile::validate_endpoint(url, "client ID metadata document")?;
        let fail = |detail: String| Error::BadResponse {
            context: format!("client ID metadata document {url}"),
            detail,
        };
        let document = self
            .http(network, url)?
            .get_json(url)
            .await
            .map_err(|e| e.into_error(format!("client ID metadata document {url}")))?
            .ok_or_else(|| fail("not found".into()))?;
        if document["client_id"].as_str() != Some(url.as_str()) {
            return Err(fail(
                "its client_id is not its own URL, as the MCP authorization spec requires".into(),
            ));
        }
        let listed: Vec<Url> = document["redirect_uris"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str()?.parse().ok())
            .collect();
        let chosen = match redirect {
            Some(r) if listed.contains(&r) => r,
            Some(r) => {
                return Err(fail(format!(
                    "it does not list the redirect URI {r} given with --redirect-uri"
                )));
            }
            None => listed
                .into_iter()
                .find(crate::model::profile::is_loopback)
                .ok_or_else(|| {
                    fail("it lists no loopback redirect URI (http://127.0.0.1:PORT/callback) for Latchkey's sign-in".into())
                })?,
        };
        validate_new_redirect_uri(&chosen, RedirectMode::Loopback)?;
        Ok(chosen)
    }

    /// Best effort: deletes a registration made by a profile addition that failed, and the
    /// keychain entry `key` of its token.
    async fn forget_registration(
        &self,
        reg: &Registered,
        network: &network::Network,
        key: Option<String>,
    ) {
        if let Some(key) = key {
            let _ = self.keychain.delete(&key).await;
        }
        if let (Some(uri), Some(token)) =
            (&reg.registration_client_uri, &reg.registration_access_token)
            && let Ok(http) = self.http(network, uri)
        {
            let _ = registration::delete(&http, uri, token).await;
        }
    }
}

/// The secret and auth method of a registered client (RFC 7591 §2: `client_secret_basic` when
/// the server names none but gives a secret).
fn registered_auth(reg: &Registered) -> Result<(Option<ClientSecret>, AuthMethod)> {
    let secret = reg
        .client_secret
        .clone()
        .filter(|s| !s.is_empty())
        .map(ClientSecret::new);
    let method = match (reg.token_endpoint_auth_method.as_deref(), &secret) {
        (Some("none"), _) | (None, None) => AuthMethod::None,
        (Some("client_secret_basic"), Some(_)) | (None, Some(_)) => AuthMethod::Basic,
        (Some("client_secret_post"), Some(_)) => AuthMethod::Post,
        (Some(other), _) => {
            return Err(Error::BadResponse {
                context: "client registration".into(),
                detail: format!(
                    "the server registered the client with the token endpoint auth method {:?} (and {} secret), which Latchkey cannot use for it",
                    crate::model::untrusted::sanitize(other),
                    if secret.is_some() { "a" } else { "no" }
                ),
            });
        }
    };
    let secret = if method == AuthMethod::None {
        None
    } else {
        secret
    };
    Ok((secret, method))
}

/// A loopback redirect URI on a port free now. Servers built on the MCP SDKs match registered
/// redirect URIs exactly, port included, so the registered one is reused by every sign-in.
fn fixed_loopback_redirect() -> Result<Url> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::io("cannot choose a loopback port for the redirect URI", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("cannot choose a loopback port for the redirect URI", e))?
        .port();
    Url::parse(&format!("http://127.0.0.1:{port}/callback"))
        .map_err(|e| Error::InvalidInput(format!("loopback redirect URI: {e}")))
}

/// Why no client can be had, and what to pass.
fn no_client(issuer: &str, server: &Metadata) -> Error {
    let cimd = if server.client_id_metadata_document_supported {
        " It accepts client ID metadata documents: publish one at an https URL and pass --client-metadata-url URL."
    } else {
        ""
    };
    Error::InvalidInput(format!(
        "the authorization server {issuer} offers no dynamic client registration (its metadata has no registration_endpoint).{cimd} Register a client there (redirect URI http://127.0.0.1:PORT/callback) and pass --client-id ID, with --redirect-uri and --client-secret-stdin if it needs them"
    ))
}
