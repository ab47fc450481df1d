//! The OAuth 2.0 requests of one profile, on `oauth2`'s types: authorization URL with PKCE,
//! code exchange, refresh and revocation. Provider quirks are absorbed in `http::normalize`.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceCode,
    EndpointNotSet, EndpointSet, ErrorResponse, ExtraTokenFields, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, ResourceOwnerPassword,
    ResourceOwnerUsername, ResponseType, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::http::{Endpoint, Http, HttpError, masked_excerpt};
use crate::profile::{AuthMethod, Profile};

/// `id_token` rides along in OpenID Connect token responses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<crate::secret::IdToken>,
}
impl ExtraTokenFields for IdTokenField {}

pub type TokenResponseBody = StandardTokenResponse<IdTokenField, BasicTokenType>;

type Client = oauth2::Client<
    BasicErrorResponse,
    TokenResponseBody,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A started authorization request: what must be kept to finish it.
pub struct AuthorizationStart {
    pub url: Url,
    pub state: CsrfToken,
    pub verifier: PkceCodeVerifier,
    pub nonce: Option<String>,
}

fn client(profile: &Profile, secret: Option<&ClientSecret>) -> Client {
    let mut c = oauth2::Client::new(ClientId::new(profile.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(profile.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(profile.token_endpoint.clone()))
        .set_auth_type(match profile.auth_method {
            AuthMethod::Post => AuthType::RequestBody,
            AuthMethod::Basic | AuthMethod::None => AuthType::BasicAuth,
        });
    if profile.auth_method.needs_secret()
        && let Some(secret) = secret
    {
        c = c.set_client_secret(secret.clone());
    }
    c
}

/// Builds the authorization URL: PKCE S256 always, a fresh `state`, and a `nonce` when the
/// profile asks for `openid`.
pub fn start_authorization(
    profile: &Profile,
    redirect_uri: &Url,
    extra: &[(String, String)],
) -> AuthorizationStart {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = profile
        .wants_openid()
        .then(|| CsrfToken::new_random().secret().clone());
    let client =
        client(profile, None).set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_scopes(profile.scopes.iter().cloned().map(Scope::new));
    if let Some(nonce) = &nonce {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    // OIDC Core §11: asking for offline_access needs prompt=consent, and servers drop the scope
    // without it.
    if profile.scopes.iter().any(|s| s == "offline_access")
        && !extra.iter().any(|(k, _)| k == "prompt")
    {
        request = request.add_extra_param("prompt", "consent");
    }
    for (k, v) in extra {
        request = request.add_extra_param(k.clone(), v.clone());
    }
    let (url, state) = request.url();
    AuthorizationStart {
        url,
        state,
        verifier,
        nonce,
    }
}

/// A started implicit grant (RFC 6749 §4.2; RFC 9700 discourages it).
pub struct ImplicitStart {
    pub url: Url,
    pub state: CsrfToken,
    pub nonce: Option<String>,
}

/// The implicit authorization URL: `response_type=token` with a fresh `state`, or
/// `id_token token` with a `nonce` when the profile asks for `openid` (OpenID Connect Core §3.2).
pub fn start_implicit(
    profile: &Profile,
    redirect_uri: &Url,
    extra: &[(String, String)],
) -> ImplicitStart {
    let nonce = profile
        .wants_openid()
        .then(|| CsrfToken::new_random().secret().clone());
    let response_type = if nonce.is_some() {
        "id_token token"
    } else {
        "token"
    };
    let client =
        client(profile, None).set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_response_type(&ResponseType::new(response_type.to_string()))
        .add_scopes(profile.scopes.iter().cloned().map(Scope::new));
    if let Some(nonce) = &nonce {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    for (k, v) in extra {
        request = request.add_extra_param(k.clone(), v.clone());
    }
    let (url, state) = request.url();
    ImplicitStart { url, state, nonce }
}

/// The token of an implicit response (the redirect's fragment), as a token response. There is
/// never a refresh token (RFC 6749 §4.2.2).
pub fn implicit_token(
    context: &str,
    params: &std::collections::BTreeMap<String, String>,
) -> Result<TokenResponseBody> {
    let mut body = serde_json::Map::new();
    for key in ["access_token", "token_type", "scope", "id_token"] {
        if let Some(v) = params.get(key) {
            body.insert(key.into(), v.clone().into());
        }
    }
    if let Some(n) = params
        .get("expires_in")
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        body.insert("expires_in".into(), n.into());
    }
    let body = serde_json::Value::Object(body);
    let sent = || masked_excerpt(&serde_json::to_vec(&body).unwrap_or_default());
    let response = TokenResponseBody::deserialize(&body).map_err(|e| Error::BadResponse {
        context: context.to_string(),
        detail: format!(
            "the redirect carries no usable token: {}; it carried {}",
            without_quoted(&e.to_string()),
            sent()
        ),
    })?;
    check_token_type(context, response, sent)
}

pub async fn exchange_code(
    http: &Http,
    profile: &Profile,
    secret: Option<&ClientSecret>,
    code: String,
    verifier: PkceCodeVerifier,
    redirect_uri: &Url,
) -> Result<TokenResponseBody> {
    let context = format!("token request for profile `{}`", profile.name);
    let endpoint = TokenEndpoint::new(http);
    let client =
        client(profile, secret).set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let request = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier);
    let response = token_params(profile)
        .fold(request, |r, (k, v)| r.add_extra_param(k, v))
        .request_async(&|req| endpoint.send(req))
        .await;
    endpoint.finish(&context, response)
}

/// A refresh that failed. The refresh token sent may be spent by then: `rotated` is the new one
/// the provider put in an answer Latchkey could not use otherwise (a `MAC` token, no
/// `access_token`…), so that the grant survives.
#[derive(Debug)]
pub struct RefreshFailure {
    pub error: Error,
    pub rotated: Option<RefreshToken>,
}

pub async fn refresh(
    http: &Http,
    profile: &Profile,
    secret: Option<&ClientSecret>,
    refresh_token: &RefreshToken,
) -> std::result::Result<TokenResponseBody, RefreshFailure> {
    let context = format!("refresh for profile `{}`", profile.name);
    let endpoint = TokenEndpoint::new(http);
    let client = client(profile, secret);
    let request = client.exchange_refresh_token(refresh_token);
    let response = token_params(profile)
        .fold(request, |r, (k, v)| r.add_extra_param(k, v))
        .request_async(&|req| endpoint.send(req))
        .await;
    endpoint
        .finish(&context, response)
        .map_err(|error| RefreshFailure {
            rotated: endpoint.rotated_refresh_token(),
            error,
        })
}

/// The client credentials grant (RFC 6749 §4.4): the client's own token, no user involved.
pub async fn client_credentials(
    http: &Http,
    profile: &Profile,
    secret: &ClientSecret,
) -> Result<TokenResponseBody> {
    let context = format!(
        "client credentials token request for profile `{}`",
        profile.name
    );
    let endpoint = TokenEndpoint::new(http);
    let client = client(profile, Some(secret));
    let request = client
        .exchange_client_credentials()
        .add_scopes(profile.scopes.iter().cloned().map(Scope::new));
    let response = token_params(profile)
        .fold(request, |r, (k, v)| r.add_extra_param(k, v))
        .request_async(&|req| endpoint.send(req))
        .await;
    endpoint.finish(&context, response)
}

/// The resource owner password credentials grant (RFC 6749 §4.3; RFC 9700 discourages it).
pub async fn password(
    http: &Http,
    profile: &Profile,
    secret: Option<&ClientSecret>,
    username: &str,
    password: &ResourceOwnerPassword,
) -> Result<TokenResponseBody> {
    let context = format!("password sign-in for profile `{}`", profile.name);
    let endpoint = TokenEndpoint::new(http);
    let client = client(profile, secret);
    let username = ResourceOwnerUsername::new(username.to_string());
    let request = client
        .exchange_password(&username, password)
        .add_scopes(profile.scopes.iter().cloned().map(Scope::new));
    let response = token_params(profile)
        .fold(request, |r, (k, v)| r.add_extra_param(k, v))
        .request_async(&|req| endpoint.send(req))
        .await;
    endpoint.finish(&context, response)
}

/// The token endpoint as `oauth2`'s HTTP client. It keeps the body of the answer, so that an
/// unusable one can be quoted (masked) in the error.
struct TokenEndpoint<'a> {
    http: &'a Http,
    body: std::sync::Mutex<Vec<u8>>,
}

impl<'a> TokenEndpoint<'a> {
    fn new(http: &'a Http) -> Self {
        TokenEndpoint {
            http,
            body: Default::default(),
        }
    }

    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> std::result::Result<oauth2::HttpResponse, HttpError> {
        let response = self.http.oauth(request, Endpoint::Token).await?;
        *self.body.lock().unwrap_or_else(|e| e.into_inner()) = response.body().clone();
        Ok(response)
    }

    /// A `refresh_token` in a body that is not an error response.
    fn rotated_refresh_token(&self) -> Option<RefreshToken> {
        let body = self.body.lock().unwrap_or_else(|e| e.into_inner());
        let serde_json::Value::Object(map) = serde_json::from_slice(&body).ok()? else {
            return None;
        };
        if map.contains_key("error") {
            return None;
        }
        match map.get("refresh_token")? {
            serde_json::Value::String(t) if !t.is_empty() => Some(RefreshToken::new(t.clone())),
            _ => None,
        }
    }

    /// The token response, or the error for `result`, quoting the body when it is unusable.
    fn finish(
        &self,
        context: &str,
        result: std::result::Result<
            TokenResponseBody,
            RequestTokenError<HttpError, BasicErrorResponse>,
        >,
    ) -> Result<TokenResponseBody> {
        let sent = || masked_excerpt(&self.body.lock().unwrap_or_else(|e| e.into_inner()));
        let response = result.map_err(|e| request_error(context, e, sent))?;
        check_token_type(context, response, sent)
    }
}

fn token_params(profile: &Profile) -> impl Iterator<Item = (String, String)> + '_ {
    profile
        .extra_token_params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
}

/// Revokes a refresh token (RFC 7009). Does nothing when the profile has no revocation endpoint.
///
/// Written by hand on `oauth2`'s request types because `oauth2` refuses any non-https revocation
/// endpoint, including the loopback development servers every other endpoint may use.
pub async fn revoke(
    http: &Http,
    profile: &Profile,
    secret: Option<&ClientSecret>,
    refresh_token: RefreshToken,
) -> Result<bool> {
    let Some(url) = &profile.revocation_endpoint else {
        return Ok(false);
    };
    let context = format!("revocation for profile `{}`", profile.name);
    let form = vec![
        ("token", refresh_token.secret().as_str()),
        ("token_type_hint", "refresh_token"),
    ];
    let request = form_request(url, profile, secret, form)
        .map_err(|e| Error::InvalidInput(format!("{context}: {e}")))?;
    let response = http
        .oauth(request, Endpoint::Revocation)
        .await
        .map_err(|e| e.into_error(context.clone()))?;
    if response.status().is_success() {
        return Ok(true);
    }
    Err(error_body(&context, response.body()))
}

/// A form POST to a token-like endpoint with the profile's client authentication.
///
/// Written by hand on `oauth2`'s request types where `oauth2` does not fit (see [`revoke`] and
/// [`poll_device_token`]).
fn form_request<'a>(
    url: &Url,
    profile: &'a Profile,
    secret: Option<&'a ClientSecret>,
    mut form: Vec<(&'a str, &'a str)>,
) -> std::result::Result<oauth2::HttpRequest, oauth2::http::Error> {
    let mut request = oauth2::http::Request::builder()
        .method(oauth2::http::Method::POST)
        .uri(url.as_str())
        .header(
            oauth2::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(oauth2::http::header::ACCEPT, "application/json");
    match (profile.auth_method, secret) {
        (AuthMethod::Basic, Some(secret)) => {
            // RFC 6749 §2.3.1: form-encode id and secret before Basic.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = format!("{}:{}", enc(&profile.client_id), enc(secret.secret()));
            use base64::Engine;
            let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
            request = request.header(
                oauth2::http::header::AUTHORIZATION,
                format!("Basic {basic}"),
            );
        }
        (AuthMethod::Post, Some(secret)) => {
            form.push(("client_id", &profile.client_id));
            form.push(("client_secret", secret.secret()));
        }
        _ => form.push(("client_id", &profile.client_id)),
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
        .into_bytes();
    request.body(body)
}

/// A device authorization response (RFC 8628 §3.2).
#[derive(Debug, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: DeviceCode,
    pub user_code: String,
    /// Google says `verification_url`.
    #[serde(alias = "verification_url")]
    pub verification_uri: String,
    #[serde(default, alias = "verification_url_complete")]
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    #[serde(default)]
    pub interval: Option<u64>,
}

/// Starts the device flow: asks for a device code and the user code to show.
pub async fn start_device_authorization(
    http: &Http,
    profile: &Profile,
    secret: Option<&ClientSecret>,
) -> Result<DeviceAuthorization> {
    let context = format!(
        "device authorization request for profile `{}`",
        profile.name
    );
    let Some(url) = &profile.device_authorization_endpoint else {
        return Err(Error::InvalidInput(format!(
            "profile `{}` has no device authorization endpoint: its provider's discovery does not list one. Add the profile again with --device-authorization-url URL",
            profile.name
        )));
    };
    let scope = profile.scopes.join(" ");
    let mut form = Vec::new();
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    let request = form_request(url, profile, secret, form)
        .map_err(|e| Error::InvalidInput(format!("{context}: {e}")))?;
    let response = http
        .oauth(request, Endpoint::Token)
        .await
        .map_err(|e| e.into_error(context.clone()))?;
    if !response.status().is_success() {
        return Err(error_body(&context, response.body()));
    }
    serde_json::from_slice(response.body()).map_err(|e| Error::BadResponse {
        context,
        detail: format!(
            "the response is not a device authorization response: {}",
            without_quoted(&e.to_string())
        ),
    })
}

/// One poll of the token endpoint in the device flow.
pub enum DevicePoll {
    Token(Box<TokenResponseBody>),
    /// `authorization_pending`: ask again after the interval.
    Pending,
    /// `slow_down`: ask again after an interval 5 s longer (RFC 8628 §3.5).
    SlowDown,
}

/// Polls once: `oauth2`'s own polling loop retries transport errors silently until the code
/// expires and cannot be stopped, so the loop is the caller's.
pub async fn poll_device_token(
    http: &Http,
    profile: &Profile,
    secret: Option<&ClientSecret>,
    device_code: &DeviceCode,
) -> Result<DevicePoll> {
    let context = format!("device sign-in for profile `{}`", profile.name);
    let mut form = vec![
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code.secret().as_str()),
    ];
    for (k, v) in &profile.extra_token_params {
        form.push((k.as_str(), v.as_str()));
    }
    let request = form_request(&profile.token_endpoint, profile, secret, form)
        .map_err(|e| Error::InvalidInput(format!("{context}: {e}")))?;
    let response = http
        .oauth(request, Endpoint::Token)
        .await
        .map_err(|e| e.into_error(context.clone()))?;
    if response.status().is_success() {
        let sent = || masked_excerpt(response.body());
        let token: TokenResponseBody =
            serde_json::from_slice(response.body()).map_err(|e| Error::BadResponse {
                context: context.clone(),
                detail: format!(
                    "the response is not a usable token response: {}; the provider sent {}",
                    without_quoted(&e.to_string()),
                    sent()
                ),
            })?;
        return Ok(DevicePoll::Token(Box::new(check_token_type(
            &context, token, sent,
        )?)));
    }
    match error_body(&context, response.body()) {
        Error::Provider { error, .. } if error == "authorization_pending" => {
            Ok(DevicePoll::Pending)
        }
        Error::Provider { error, .. } if error == "slow_down" => Ok(DevicePoll::SlowDown),
        other => Err(other),
    }
}

/// An OAuth error body (normalised to JSON by `http`) as an engine error.
fn error_body(context: &str, body: &[u8]) -> Error {
    let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Error::Provider {
        context: context.to_string(),
        error: text("error").unwrap_or_else(|| "unknown_error".into()),
        description: text("error_description"),
        uri: text("error_uri"),
    }
}

/// Refuses token types other than Bearer; `sent` quotes the (masked) response.
fn check_token_type(
    context: &str,
    response: TokenResponseBody,
    sent: impl FnOnce() -> String,
) -> Result<TokenResponseBody> {
    match response.token_type() {
        BasicTokenType::Bearer => Ok(response),
        other => Err(Error::BadResponse {
            context: context.to_string(),
            detail: format!(
                "the provider issued a `{}` token; Latchkey handles Bearer tokens only. The provider sent {}",
                other.as_ref(),
                sent()
            ),
        }),
    }
}

/// The engine error for a failed token request; `sent` quotes the (masked) response when it
/// could not be parsed.
fn request_error<T>(
    context: &str,
    e: RequestTokenError<HttpError, T>,
    sent: impl FnOnce() -> String,
) -> Error
where
    T: ErrorResponse + OAuthError + 'static,
{
    match e {
        RequestTokenError::ServerResponse(r) => Error::Provider {
            context: context.to_string(),
            error: r.code(),
            description: r.description(),
            uri: r.uri(),
        },
        RequestTokenError::Request(http) => http.into_error(context.to_string()),
        RequestTokenError::Parse(e, _body) => Error::BadResponse {
            context: context.to_string(),
            detail: format!(
                "the response is not a usable token response (at `{}`: {}); the provider sent {}",
                e.path(),
                without_quoted(&e.inner().to_string()),
                sent()
            ),
        },
        RequestTokenError::Other(detail) => Error::BadResponse {
            context: context.to_string(),
            detail,
        },
    }
}

/// serde quotes an offending string in double quotes; that string may be a token.
fn without_quoted(message: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// The three OAuth error fields, for both error response types.
pub trait OAuthError {
    fn code(&self) -> String;
    fn description(&self) -> Option<String>;
    fn uri(&self) -> Option<String>;
}

impl<T: oauth2::ErrorResponseType + std::fmt::Display> OAuthError
    for oauth2::StandardErrorResponse<T>
{
    fn code(&self) -> String {
        self.error().to_string()
    }
    fn description(&self) -> Option<String> {
        self.error_description().cloned()
    }
    fn uri(&self) -> Option<String> {
        self.error_uri().cloned()
    }
}

/// The scopes granted: the response's `scope`, or what was asked for when it is absent
/// (RFC 6749 §5.1).
pub fn granted_scopes(response: &TokenResponseBody, requested: &[String]) -> Vec<String> {
    match response.scopes() {
        Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
        None => requested.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(scopes: &[&str]) -> Profile {
        Profile {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Profile::for_tests("p")
        }
    }

    fn query(url: &Url) -> std::collections::HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn authorization_urls_carry_pkce_s256_state_and_nonce() {
        let redirect: Url = "http://127.0.0.1:5555/callback".parse().unwrap();
        let start = start_authorization(&profile(&["openid", "email"]), &redirect, &[]);
        let q = query(&start.url);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], redirect.as_str());
        assert_eq!(q["state"], *start.state.secret());
        assert_eq!(q["nonce"], start.nonce.clone().unwrap());
        assert_eq!(q["scope"], "openid email");
        // The challenge is the S256 of the verifier we keep.
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&start.verifier);
        assert_eq!(q["code_challenge"], *expected.as_str());
        assert!(!q.contains_key("prompt"));
        // Fresh values every time.
        let again = start_authorization(&profile(&["openid"]), &redirect, &[]);
        assert_ne!(again.state.secret(), start.state.secret());
        assert_ne!(again.nonce, start.nonce);
    }

    #[test]
    fn plain_oauth_has_no_nonce_and_offline_access_asks_for_consent() {
        let redirect: Url = "http://127.0.0.1/callback".parse().unwrap();
        let q = query(&start_authorization(&profile(&["repo"]), &redirect, &[]).url);
        assert!(!q.contains_key("nonce"));
        let q = query(
            &start_authorization(&profile(&["openid", "offline_access"]), &redirect, &[]).url,
        );
        assert_eq!(q["prompt"], "consent");
    }

    #[test]
    fn extra_parameters_join_the_authorization_url() {
        let redirect: Url = "http://127.0.0.1/callback".parse().unwrap();
        let extra = [
            ("access_type".to_string(), "offline".to_string()),
            ("prompt".to_string(), "select_account".to_string()),
        ];
        let q = query(
            &start_authorization(&profile(&["openid", "offline_access"]), &redirect, &extra).url,
        );
        assert_eq!(q["access_type"], "offline");
        // The user's prompt wins over the one offline_access would add.
        assert_eq!(q["prompt"], "select_account");
    }

    #[test]
    fn device_responses_accept_googles_field_names() {
        let d: DeviceAuthorization = serde_json::from_str(
            r#"{"device_code":"dc-secret-value","user_code":"ABCD-EFGH","verification_url":"https://www.google.com/device","expires_in":1800,"interval":5}"#,
        )
        .unwrap();
        assert_eq!(d.verification_uri, "https://www.google.com/device");
        assert_eq!(d.interval, Some(5));
        assert!(!format!("{d:?}").contains("dc-secret-value"));
    }

    #[test]
    fn serde_messages_lose_their_quoted_values() {
        assert_eq!(
            without_quoted("invalid type: string \"secret-token\", expected u64"),
            "invalid type: string \"…\", expected u64"
        );
        assert_eq!(
            without_quoted("missing field `access_token`"),
            "missing field `access_token`"
        );
    }
}
