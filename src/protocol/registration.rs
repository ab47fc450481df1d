//! OAuth 2.0 Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592):
//! one native client per profile, registered at `profile add`, deleted at `profile remove`.

use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result, provider_error};
use crate::model::untrusted::sanitize;
use crate::protocol::http::{Http, excerpt};

/// What Latchkey registers: a native public client with one loopback redirect URI.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub redirect_uri: Url,
    pub scopes: Vec<String>,
    pub client_name: String,
}

/// The registration response (RFC 7591 §3.2.1), the secrets kept apart. `Debug` shows neither
/// the client secret nor the registration access token.
#[derive(Clone, Deserialize)]
pub struct Registered {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub registration_access_token: Option<String>,
    #[serde(default)]
    pub registration_client_uri: Option<Url>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// RFC 9449 §5.2: the server will issue this client DPoP-bound tokens only.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |o: &Option<String>| o.as_ref().map(|_| "[redacted]");
        f.debug_struct("Registered")
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field(
                "registration_access_token",
                &redacted(&self.registration_access_token),
            )
            .field("registration_client_uri", &self.registration_client_uri)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .finish()
    }
}

/// Registers a client at `endpoint` (RFC 7591 §3.1).
pub async fn register(http: &Http, endpoint: &Url, request: &ClientRequest) -> Result<Registered> {
    let context = format!("client registration at {endpoint}");
    let mut body = serde_json::json!({
        "redirect_uris": [request.redirect_uri.as_str()],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "application_type": "native",
        "client_name": request.client_name,
    });
    if !request.scopes.is_empty() {
        body["scope"] = request.scopes.join(" ").into();
    }
    let (status, bytes) = http
        .json_request(reqwest::Method::POST, endpoint, None, Some(&body))
        .await
        .map_err(|e| e.into_error(context.clone()))?;
    if !(200..300).contains(&status) {
        return Err(error_response(&context, status, &bytes));
    }
    let registered: Registered =
        serde_json::from_slice(&bytes).map_err(|e| Error::BadResponse {
            context: context.clone(),
            detail: format!(
                "the registration response is malformed: {}",
                sanitize(&e.to_string())
            ),
        })?;
    if registered.client_id.trim().is_empty() {
        return Err(Error::BadResponse {
            context,
            detail: "the registration response has an empty client_id".into(),
        });
    }
    // Where the registration access token will be sent (RFC 7592): only back to the server
    // that registered the client, never to an address the answer picks elsewhere.
    let mut registered = registered;
    if let Some(uri) = &registered.registration_client_uri
        && (uri.origin() != endpoint.origin()
            || crate::model::profile::validate_endpoint(uri, "registration_client_uri").is_err())
    {
        registered.registration_client_uri = None;
    }
    Ok(registered)
}

/// Deletes a registered client (RFC 7592 §2.3). A client the server no longer knows (401,
/// 403, 404, 410) is gone already.
pub async fn delete(http: &Http, registration_client_uri: &Url, token: &str) -> Result<()> {
    let context = format!("deleting the client registration at {registration_client_uri}");
    let (status, bytes) = http
        .json_request(
            reqwest::Method::DELETE,
            registration_client_uri,
            Some(token),
            None,
        )
        .await
        .map_err(|e| e.into_error(context.clone()))?;
    match status {
        200..=299 | 401 | 403 | 404 | 410 => Ok(()),
        _ => Err(error_response(&context, status, &bytes)),
    }
}

/// The error of a registration request: the OAuth error the server gave, else its status.
fn error_response(context: &str, status: u16, body: &[u8]) -> Error {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => provider_error(context, &e.error, e.error_description.as_deref(), None),
        Err(_) => Error::BadResponse {
            context: context.to_string(),
            detail: format!("HTTP {status}: {}", excerpt(body)),
        },
    }
}
