//! The OAuth 2.0 requests of one profile, on `oauth2`'s types: the authorization URL with PKCE
//! here, and the back-channel requests as methods of [`Client`] (code exchange, refresh, the
//! other grants and revocation here, the device flow in `device`, PAR in `par`). Provider quirks
//! are absorbed in `http::normalize`; reading the answers is in `response`.

use std::collections::BTreeMap;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, ResponseType, Scope, StandardRevocableToken,
    TokenUrl,
};
use url::Url;

use crate::error::{Error, Result};
use crate::model::profile::{AuthMethod, Profile};
use crate::model::secret::Nonce;
use crate::protocol::dpop::{self, ProofTarget};
use crate::protocol::http::{Endpoint, HttpError, masked_excerpt};
use crate::protocol::keys::SigningKey;

mod client;
pub mod client_auth;
mod device;
mod form;
mod par;
mod response;

pub use client::Client;
pub use device::{DeviceAuthorization, DevicePoll};
pub use response::{IdTokenField, OAuthError, TokenResponseBody, granted_scopes, implicit_token};
use response::{check_token_type, error_body, request_error};

type OAuth2Client = oauth2::Client<
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

fn oauth2_client(profile: &Profile, secret: Option<&ClientSecret>) -> OAuth2Client {
    let mut c = oauth2::Client::new(ClientId::new(profile.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(profile.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(profile.token_endpoint.clone()))
        .set_auth_type(match profile.auth_method {
            AuthMethod::Post | AuthMethod::PrivateKeyJwt => AuthType::RequestBody,
            AuthMethod::Basic | AuthMethod::None => AuthType::BasicAuth,
        });
    // A key-authenticated client sends `client_id` and its assertion, never the key.
    if matches!(profile.auth_method, AuthMethod::Basic | AuthMethod::Post)
        && let Some(secret) = secret
    {
        c = c.set_client_secret(secret.clone());
    }
    c
}

/// The profile's extra request parameters, added the one way every `oauth2` request takes them.
trait WithParams: Sized {
    fn add_param(self, key: String, value: String) -> Self;

    fn with_params(self, params: &BTreeMap<String, String>) -> Self {
        params
            .iter()
            .fold(self, |r, (k, v)| r.add_param(k.clone(), v.clone()))
    }

    /// One `resource` parameter per RFC 8707 resource indicator.
    fn with_resources(self, resources: &[String]) -> Self {
        resources
            .iter()
            .fold(self, |r, v| r.add_param("resource".into(), v.clone()))
    }
}

impl WithParams for oauth2::AuthorizationRequest<'_> {
    fn add_param(self, key: String, value: String) -> Self {
        self.add_extra_param(key, value)
    }
}

/// What `oauth2` answers a token request with, before [`TokenEndpoint::finish`] judges it.
type TokenResult =
    std::result::Result<TokenResponseBody, RequestTokenError<HttpError, BasicErrorResponse>>;

/// A token request of any grant, as `oauth2` builds it.
trait TokenRequest: WithParams + Send {
    /// `Send`, so that every engine future is (the app and the agent run them on any thread).
    fn send_to(
        self,
        endpoint: &TokenEndpoint<'_>,
    ) -> impl std::future::Future<Output = TokenResult> + Send;
}

macro_rules! token_requests {
    ($($request:ident),* $(,)?) => {$(
        impl WithParams for oauth2::$request<'_, BasicErrorResponse, TokenResponseBody> {
            fn add_param(self, key: String, value: String) -> Self {
                self.add_extra_param(key, value)
            }
        }
        impl TokenRequest for oauth2::$request<'_, BasicErrorResponse, TokenResponseBody> {
            fn send_to(
                self,
                endpoint: &TokenEndpoint<'_>,
            ) -> impl std::future::Future<Output = TokenResult> + Send {
                async move { self.request_async(endpoint).await }
            }
        }
    )*};
}
token_requests!(
    CodeTokenRequest,
    RefreshTokenRequest,
    ClientCredentialsTokenRequest,
    PasswordTokenRequest,
);

/// A started authorization request: what must be kept to finish it.
pub struct AuthorizationStart {
    pub url: Url,
    pub state: CsrfToken,
    pub verifier: PkceCodeVerifier,
    pub nonce: Option<Nonce>,
}

/// A started implicit grant (RFC 6749 §4.2; RFC 9700 discourages it).
pub struct ImplicitStart {
    pub url: Url,
    pub state: CsrfToken,
    pub nonce: Option<Nonce>,
}

/// An authorization URL of either kind: a fresh `state`, the profile's scopes, a `nonce` when
/// it asks for `openid`, and its extra authorization parameters. `code` adds PKCE S256 (and
/// `prompt=consent` for `offline_access`); without it the request is an implicit one.
fn authorization_url(
    profile: &Profile,
    redirect_uri: &Url,
    code: Option<PkceCodeChallenge>,
    dpop: Option<&SigningKey>,
) -> (Url, CsrfToken, Option<Nonce>) {
    let nonce = profile.wants_openid().then(Nonce::new_random);
    let client =
        oauth2_client(profile, None).set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(profile.scopes.iter().cloned().map(Scope::new));
    let extra = &profile.extra_authorize_params;
    match code {
        Some(challenge) => {
            request = request.set_pkce_challenge(challenge);
            // OIDC Core §11: asking for offline_access needs prompt=consent, and servers drop
            // the scope without it.
            if profile.scopes.iter().any(|s| s == "offline_access") && !extra.contains_key("prompt")
            {
                request = request.add_extra_param("prompt", "consent");
            }
        }
        // OpenID Connect Core §3.2: `id_token token` when a nonce (and so an id_token) is due.
        None => {
            let response_type = if nonce.is_some() {
                "id_token token"
            } else {
                "token"
            };
            request = request.set_response_type(&ResponseType::new(response_type.to_string()));
        }
    }
    if let Some(nonce) = &nonce {
        request = request.add_extra_param("nonce", nonce.secret().to_string());
    }
    // RFC 9449 §10: the code is bound to the key that will redeem it.
    if let Some(key) = dpop {
        request = request.add_extra_param("dpop_jkt", key.thumbprint());
    }
    let (url, state) = request
        .with_resources(&profile.resources)
        .with_params(extra)
        .url();
    (url, state, nonce)
}

/// Builds the authorization URL: PKCE S256 always, a fresh `state`, and a `nonce` when the
/// profile asks for `openid`.
pub fn start_authorization(
    profile: &Profile,
    redirect_uri: &Url,
    dpop: Option<&SigningKey>,
) -> AuthorizationStart {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = authorization_url(profile, redirect_uri, Some(challenge), dpop);
    AuthorizationStart {
        url,
        state,
        verifier,
        nonce,
    }
}

/// The implicit authorization URL: `response_type=token` with a fresh `state`, or
/// `id_token token` with a `nonce` when the profile asks for `openid` (OpenID Connect Core §3.2).
pub fn start_implicit(profile: &Profile, redirect_uri: &Url) -> ImplicitStart {
    let (url, state, nonce) = authorization_url(profile, redirect_uri, None, None);
    ImplicitStart { url, state, nonce }
}

/// A refresh that failed. The refresh token sent may be spent by then: `rotated` is the new one
/// the provider put in an answer Latchkey could not use otherwise (a `MAC` token, no
/// `access_token`…), so that the grant survives.
#[derive(Debug)]
pub struct RefreshFailure {
    pub error: Error,
    pub rotated: Option<RefreshToken>,
    /// The provider's error code, when it answered in the OAuth error format.
    pub code: Option<BasicErrorResponseType>,
}

/// The token endpoint as `oauth2`'s HTTP client. It keeps the body of the answer, so that an
/// unusable one can be quoted (masked) in the error; it adds the client's assertion to every
/// request of a key-authenticated client, and a DPoP proof when the tokens are bound to a key.
struct TokenEndpoint<'a> {
    client: Client<'a>,
    body: std::sync::Mutex<Vec<u8>>,
    assertion: Vec<(&'static str, String)>,
    dpop: Option<&'a SigningKey>,
}

/// The token endpoint as `oauth2`'s HTTP client. A type of its own rather than a closure: the
/// future of a closure that borrows the endpoint is not provably `Send` for every lifetime
/// (rustc's higher-ranked lifetime limitation), and the engine's futures must be `Send`.
impl<'c> oauth2::AsyncHttpClient<'c> for TokenEndpoint<'_> {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = std::result::Result<oauth2::HttpResponse, HttpError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

impl<'a> TokenEndpoint<'a> {
    fn new(client: Client<'a>, dpop: Option<&'a SigningKey>) -> Result<Self> {
        Ok(TokenEndpoint {
            client,
            body: Default::default(),
            assertion: client_auth::assertion_params(client.profile, client.secret)?,
            dpop,
        })
    }

    /// `body` with a new client assertion in place of the one it carries: a request sent again
    /// (the DPoP nonce retry) must not repeat an assertion's `jti` (RFC 7523 §3).
    fn with_fresh_assertion(&self, body: &[u8]) -> Vec<u8> {
        if self.assertion.is_empty() {
            return body.to_vec();
        }
        let Ok(fresh) = client_auth::assertion_params(self.client.profile, self.client.secret)
        else {
            return body.to_vec();
        };
        let pairs = url::form_urlencoded::parse(body).map(|(k, v)| {
            let replaced = fresh
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone());
            (k.into_owned(), replaced.unwrap_or_else(|| v.into_owned()))
        });
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    }

    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> std::result::Result<oauth2::HttpResponse, HttpError> {
        let response = match self.dpop {
            None => self.client.http.oauth(request, Endpoint::Token).await?,
            Some(key) => self.send_with_proof(key, request).await?,
        };
        *self.body.lock().unwrap_or_else(|e| e.into_inner()) = response.body().clone();
        Ok(response)
    }

    /// Sends `request` with a DPoP proof; when the server asks for its nonce (`use_dpop_nonce`
    /// with a `DPoP-Nonce` header), once more with a proof that carries it (RFC 9449 §8).
    async fn send_with_proof(
        &self,
        key: &SigningKey,
        request: oauth2::HttpRequest,
    ) -> std::result::Result<oauth2::HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let url = Url::parse(&parts.uri.to_string())
            .map_err(|e| HttpError::Transport(format!("token endpoint URL: {e}")))?;
        let mut nonce = None;
        loop {
            let target = ProofTarget {
                method: parts.method.to_string(),
                url: url.clone(),
                nonce: nonce.clone(),
            };
            let proof = dpop::proof(key, &target, None)
                .map_err(|e| HttpError::Transport(format!("DPoP proof: {e}")))?;
            let body = match nonce {
                Some(_) => self.with_fresh_assertion(&body),
                None => body.clone(),
            };
            let mut request = oauth2::HttpRequest::new(body);
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.headers_mut() = parts.headers.clone();
            let value = oauth2::http::HeaderValue::from_str(&proof)
                .map_err(|e| HttpError::Transport(format!("DPoP proof: {e}")))?;
            request.headers_mut().insert(dpop::HEADER, value);
            let response = self.client.http.oauth(request, Endpoint::Token).await?;
            let asks_nonce = response.status().is_client_error()
                && serde_json::from_slice::<serde_json::Value>(response.body())
                    .is_ok_and(|b| b["error"] == dpop::USE_NONCE);
            match dpop::nonce_from(response.headers()) {
                Some(fresh) if asks_nonce && nonce.is_none() => nonce = Some(fresh),
                _ => return Ok(response),
            }
        }
    }

    /// Sends `request` with the profile's resource indicators and extra token parameters.
    async fn request(&self, request: impl TokenRequest) -> TokenResult {
        let profile = self.client.profile;
        let request = self
            .assertion
            .iter()
            .fold(request, |r, (k, v)| r.add_param(k.to_string(), v.clone()))
            .with_resources(&profile.resources)
            .with_params(&profile.extra_token_params);
        request.send_to(self).await
    }

    /// [`TokenEndpoint::request`], then [`TokenEndpoint::finish`].
    async fn exchange(
        &self,
        context: &str,
        request: impl TokenRequest,
    ) -> Result<TokenResponseBody> {
        let response = self.request(request).await;
        self.finish(context, response)
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
    fn finish(&self, context: &str, result: TokenResult) -> Result<TokenResponseBody> {
        let sent = || masked_excerpt(&self.body.lock().unwrap_or_else(|e| e.into_inner()));
        let response = result.map_err(|e| request_error(context, e, sent))?;
        check_token_type(context, response, self.dpop.is_some(), sent)
    }
}

impl Client<'_> {
    /// Exchanges an authorization code; `dpop`: the key the tokens will be bound to.
    pub async fn exchange_code(
        &self,
        dpop: Option<&SigningKey>,
        code: String,
        verifier: PkceCodeVerifier,
        redirect_uri: &Url,
    ) -> Result<TokenResponseBody> {
        let profile = self.profile;
        let context = format!("token request for profile `{}`", profile.name);
        let endpoint = TokenEndpoint::new(*self, dpop)?;
        let client = oauth2_client(profile, self.secret)
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier);
        endpoint.exchange(&context, request).await
    }

    pub async fn refresh(
        &self,
        dpop: Option<&SigningKey>,
        refresh_token: &RefreshToken,
    ) -> std::result::Result<TokenResponseBody, RefreshFailure> {
        let context = format!("refresh for profile `{}`", self.profile.name);
        let endpoint = TokenEndpoint::new(*self, dpop).map_err(|error| RefreshFailure {
            error,
            rotated: None,
            code: None,
        })?;
        let client = oauth2_client(self.profile, self.secret);
        let request = client.exchange_refresh_token(refresh_token);
        let response = endpoint.request(request).await;
        let code = match &response {
            Err(RequestTokenError::ServerResponse(r)) => Some(r.error().clone()),
            _ => None,
        };
        endpoint
            .finish(&context, response)
            .map_err(|error| RefreshFailure {
                rotated: endpoint.rotated_refresh_token(),
                code,
                error,
            })
    }

    /// The client credentials grant (RFC 6749 §4.4): the client's own token, no user involved.
    /// Never without the client's secret (or key): the request would carry only its id.
    pub async fn client_credentials(&self) -> Result<TokenResponseBody> {
        let profile = self.profile;
        if self.secret.is_none() {
            return Err(Error::InvalidInput(format!(
                "profile `{}` uses the client credentials grant but has no client secret",
                profile.name
            )));
        }
        let context = format!(
            "client credentials token request for profile `{}`",
            profile.name
        );
        let endpoint = TokenEndpoint::new(*self, None)?;
        let client = oauth2_client(profile, self.secret);
        let request = client
            .exchange_client_credentials()
            .add_scopes(profile.scopes.iter().cloned().map(Scope::new));
        endpoint.exchange(&context, request).await
    }

    /// The resource owner password credentials grant (RFC 6749 §4.3; RFC 9700 discourages it).
    pub async fn password(
        &self,
        username: &str,
        password: &ResourceOwnerPassword,
    ) -> Result<TokenResponseBody> {
        let profile = self.profile;
        let context = format!("password sign-in for profile `{}`", profile.name);
        let endpoint = TokenEndpoint::new(*self, None)?;
        let client = oauth2_client(profile, self.secret);
        let username = ResourceOwnerUsername::new(username.to_string());
        let request = client
            .exchange_password(&username, password)
            .add_scopes(profile.scopes.iter().cloned().map(Scope::new));
        endpoint.exchange(&context, request).await
    }

    /// Revokes a refresh token (RFC 7009). Does nothing when the profile has no revocation
    /// endpoint.
    ///
    /// Written by hand on `oauth2`'s request types because `oauth2` refuses any non-https
    /// revocation endpoint, including the loopback development servers every other endpoint
    /// may use.
    pub async fn revoke(&self, refresh_token: RefreshToken) -> Result<bool> {
        let Some(url) = &self.profile.revocation_endpoint else {
            return Ok(false);
        };
        let context = format!("revocation for profile `{}`", self.profile.name);
        let form = vec![
            ("token", refresh_token.secret().as_str()),
            ("token_type_hint", "refresh_token"),
        ];
        let response = self
            .post_form(Endpoint::Revocation, url, form, &context)
            .await?;
        if response.status().is_success() {
            return Ok(true);
        }
        Err(error_body(&context, response.body()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::Http;

    fn profile(scopes: &[&str]) -> Profile {
        Profile {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Profile::for_tests("p")
        }
    }

    fn query(url: &Url) -> std::collections::HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[tokio::test]
    async fn client_credentials_are_never_asked_for_without_the_secret() {
        // A closed loopback port: were the request sent, the error would be the network's.
        let profile = Profile {
            token_endpoint: "http://127.0.0.1:1/token".parse().unwrap(),
            ..profile(&[])
        };
        let http = Http::with_timeouts(false, Default::default()).unwrap();
        let client = Client {
            http: &http,
            profile: &profile,
            secret: None,
        };
        let err = client.client_credentials().await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage, "{err}");
    }

    #[test]
    fn authorization_urls_carry_pkce_s256_state_and_nonce() {
        let redirect: Url = "http://127.0.0.1:5555/callback".parse().unwrap();
        let start = start_authorization(&profile(&["openid", "email"]), &redirect, None);
        let q = query(&start.url);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], redirect.as_str());
        assert_eq!(q["state"], *start.state.secret());
        assert_eq!(q["nonce"], start.nonce.as_ref().unwrap().secret());
        assert_eq!(q["scope"], "openid email");
        // The challenge is the S256 of the verifier we keep.
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&start.verifier);
        assert_eq!(q["code_challenge"], *expected.as_str());
        assert!(!q.contains_key("prompt"));
        // Fresh values every time.
        let again = start_authorization(&profile(&["openid"]), &redirect, None);
        assert_ne!(again.state.secret(), start.state.secret());
        assert_ne!(again.nonce.unwrap().secret(), start.nonce.unwrap().secret());
    }

    #[test]
    fn plain_oauth_has_no_nonce_and_offline_access_asks_for_consent() {
        let redirect: Url = "http://127.0.0.1/callback".parse().unwrap();
        let q = query(&start_authorization(&profile(&["repo"]), &redirect, None).url);
        assert!(!q.contains_key("nonce"));
        let q = query(
            &start_authorization(&profile(&["openid", "offline_access"]), &redirect, None).url,
        );
        assert_eq!(q["prompt"], "consent");
    }

    #[test]
    fn resource_indicators_join_the_authorization_url_one_parameter_each() {
        let mut p = profile(&[]);
        p.resources = vec![
            "https://mcp.example/mcp".into(),
            "https://api.example/".into(),
        ];
        let start =
            start_authorization(&p, &"http://127.0.0.1:5000/callback".parse().unwrap(), None);
        let resources: Vec<String> = start
            .url
            .query_pairs()
            .filter(|(k, _)| k == "resource")
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(
            resources,
            ["https://mcp.example/mcp", "https://api.example/"]
        );
    }

    #[test]
    fn extra_parameters_join_the_authorization_url() {
        let redirect: Url = "http://127.0.0.1/callback".parse().unwrap();
        let mut p = profile(&["openid", "offline_access"]);
        p.extra_authorize_params = [
            ("access_type".to_string(), "offline".to_string()),
            ("prompt".to_string(), "select_account".to_string()),
        ]
        .into();
        let q = query(&start_authorization(&p, &redirect, None).url);
        assert_eq!(q["access_type"], "offline");
        // The user's prompt wins over the one offline_access would add.
        assert_eq!(q["prompt"], "select_account");
    }

    #[test]
    fn implicit_urls_ask_for_an_id_token_only_with_a_nonce() {
        let redirect: Url = "http://127.0.0.1/callback".parse().unwrap();
        let start = start_implicit(&profile(&["openid"]), &redirect);
        let q = query(&start.url);
        assert_eq!(q["response_type"], "id_token token");
        assert_eq!(q["nonce"], start.nonce.as_ref().unwrap().secret());
        assert!(!q.contains_key("code_challenge"));
        let q = query(&start_implicit(&profile(&["repo"]), &redirect).url);
        assert_eq!(q["response_type"], "token");
        assert!(!q.contains_key("nonce"));
    }
}
