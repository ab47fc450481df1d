//! The one HTTP client Latchkey talks to providers with: no redirects (an OAuth endpoint that
//! redirects is misconfigured or hostile), connect and total timeouts, a cap on response bodies,
//! and a normalising adapter between the network and `oauth2`'s strict response parser.

use std::time::Duration;

use oauth2::http::{HeaderMap, HeaderValue, StatusCode, header};
use oauth2::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::protocol::network::{Network, ProxyRoute, SetupError};

mod client;
mod excerpt;
mod failure;
mod resources;

pub use client::error_chain;
use client::{builder, finish};
pub use excerpt::{excerpt, masked_excerpt};
pub use failure::ConnectFailure;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Token responses are a few KiB; discovery documents and JWKS a few tens.
pub const MAX_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Transport(String),
    /// The proxy, the certificate or the name: what kept the request from the provider.
    #[error("{0}")]
    Connect(ConnectFailure),
    /// The profile's proxy or CA file cannot be used.
    #[error("{0}")]
    Setup(#[from] SetupError),
    /// `connect`: the connect timeout fired, not the total one.
    #[error("{}", timeout_message(*connect, *seconds))]
    Timeout { seconds: u64, connect: bool },
    #[error(
        "the server answered HTTP {status} redirecting to {location}; Latchkey does not follow redirects at OAuth endpoints, so check the endpoint URL"
    )]
    Redirect { status: u16, location: String },
    #[error("the response body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("unexpected HTTP {status} response{}: {excerpt}", content_type.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Unexpected {
        status: u16,
        content_type: Option<String>,
        excerpt: String,
    },
}

/// What the adapter expects from an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A token endpoint: JSON token or error responses.
    Token,
    /// A revocation endpoint (RFC 7009): any 2xx means done; the body is ignored.
    Revocation,
}

/// Connect and total timeouts of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: CONNECT_TIMEOUT,
            total: TOTAL_TIMEOUT,
        }
    }
}

/// A JSON document and how long the server lets it be cached (`Cache-Control: max-age`;
/// `Some(0)` for `no-store`/`no-cache`).
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub max_age: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    timeouts: Timeouts,
    /// The proxy of https requests, for naming it when it fails.
    route: Option<ProxyRoute>,
}

impl Http {
    /// [`Http::for_network`] without a profile's proxy or CA file.
    pub fn with_timeouts(tls: bool, timeouts: Timeouts) -> Result<Self, HttpError> {
        Self::for_network(tls, timeouts, &Network::default())
    }

    /// A client for https endpoints (`tls`) through `network`'s proxy (else the environment's)
    /// and trusting its CA file besides the OS store; or one for plain-http loopback endpoints
    /// that skips loading the TLS roots and so cannot talk to https at all. The plain client
    /// never uses a proxy: `http_proxy`/`ALL_PROXY` would otherwise receive the client secret,
    /// codes and refresh tokens in clear, for a server on this very machine.
    pub fn for_network(
        tls: bool,
        timeouts: Timeouts,
        network: &Network,
    ) -> Result<Self, HttpError> {
        let (builder, route) = builder(tls, network)?;
        let client = finish(builder.timeout(timeouts.total), tls, timeouts.connect)
            .map_err(|e| build_error(&e, tls, network))?;
        Ok(Http {
            client,
            timeouts,
            route,
        })
    }

    /// GET a JSON document (discovery, JWKS). `Ok(None)` on 404/410 so callers can try the next
    /// well-known location.
    pub async fn get_json(&self, url: &url::Url) -> Result<Option<Value>, HttpError> {
        Ok(self.get_document(url).await?.map(|d| d.value))
    }

    /// [`Http::get_json`] with the caching lifetime the server gave.
    pub async fn get_document(&self, url: &url::Url) -> Result<Option<Document>, HttpError> {
        let (status, headers, body) = self
            .exchange(
                self.client
                    .get(url.as_str())
                    .header(header::ACCEPT, "application/json"),
                MAX_BODY,
            )
            .await?;
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Ok(None);
        }
        check_redirect(status, &headers)?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(value) if status.is_success() => Ok(Some(Document {
                value,
                max_age: max_age(&headers),
            })),
            _ => Err(unexpected(status, &headers, &body)),
        }
    }

    /// Sends an `oauth2` request and hands back a response its parser accepts whenever the
    /// provider's answer means something (see `normalize`).
    pub async fn oauth(
        &self,
        request: HttpRequest,
        endpoint: Endpoint,
    ) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let (status, headers, body) = self
            .exchange(
                self.client
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body),
                MAX_BODY,
            )
            .await?;
        normalize(status, &headers, &body, endpoint)
    }

    /// Sends `request` and reads its answer: status, headers and the body (bounded).
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        max: usize,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), HttpError> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Err(self.send_failure(e).await),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_body(response, max).await?;
        Ok((status, headers, body))
    }

    /// GET at most `max` bytes (a shared profiles file); a redirect or error status is an error.
    pub async fn get_capped(&self, url: &url::Url, max: usize) -> Result<Vec<u8>, HttpError> {
        let (status, headers, body) = self.exchange(self.client.get(url.as_str()), max).await?;
        check_redirect(status, &headers)?;
        match status.is_success() {
            true => Ok(body),
            false => Err(unexpected(status, &headers, &body)),
        }
    }

    async fn read_body(&self, mut r: reqwest::Response, max: usize) -> Result<Vec<u8>, HttpError> {
        if r.content_length().is_some_and(|n| n > max as u64) {
            return Err(HttpError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = r.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > max {
                return Err(HttpError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// [`Http::transport`], naming a proxy, certificate or name failure where it is one.
    async fn send_failure(&self, e: reqwest::Error) -> HttpError {
        if !e.is_timeout() {
            let url = e.url().cloned();
            let chain = error_chain(&e.without_url());
            if let Some(failure) =
                failure::classify(&chain, url.as_ref(), self.route.as_ref()).await
            {
                return HttpError::Connect(failure);
            }
            return HttpError::Transport(chain);
        }
        self.transport(e)
    }

    fn transport(&self, e: reqwest::Error) -> HttpError {
        if e.is_timeout() {
            // reqwest reports the connect timeout as a connect error; the total one is not.
            let connect = e.is_connect();
            let limit = if connect {
                self.timeouts.connect
            } else {
                self.timeouts.total
            };
            HttpError::Timeout {
                seconds: limit.as_secs_f64().ceil() as u64,
                connect,
            }
        } else {
            HttpError::Transport(error_chain(&e.without_url()))
        }
    }
}

/// A client for forwarding requests to an API (`latchkey proxy`): like [`Http::for_network`]
/// (the profile's proxy and CA file, no redirects followed) but with no total timeout and no
/// cap on bodies, which stream through.
pub fn forwarding_client(
    tls: bool,
    connect: Duration,
    network: &Network,
) -> Result<reqwest::Client, HttpError> {
    let (builder, _) = builder(tls, network)?;
    finish(builder, tls, connect).map_err(|e| build_error(&e, tls, network))
}

fn build_error(e: &reqwest::Error, tls: bool, network: &Network) -> HttpError {
    match &network.ca_file {
        Some(path) if tls => HttpError::Setup(SetupError::CaFile {
            path: path.clone(),
            detail: error_chain(e),
        }),
        _ => HttpError::Transport(error_chain(e)),
    }
}

/// Which timeout fired, for error messages.
pub fn timeout_message(connect: bool, seconds: u64) -> String {
    if connect {
        format!("could not connect within {seconds} s (the connect timeout)")
    } else {
        format!("no answer within {seconds} s (the total timeout)")
    }
}

/// `Cache-Control: max-age` in seconds; `no-store`/`no-cache` count as 0.
fn max_age(headers: &HeaderMap) -> Option<u64> {
    let mut found = None;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return Some(0);
            }
            if let Some(n) = directive.strip_prefix("max-age=") {
                found = n.trim_matches('"').parse::<u64>().ok().or(found);
            }
        }
    }
    found
}

fn check_redirect(status: StatusCode, headers: &HeaderMap) -> Result<(), HttpError> {
    if status.is_redirection() {
        let location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| l.split(['?', '#']).next().unwrap_or_default().to_string())
            .unwrap_or_else(|| "nowhere".into());
        return Err(HttpError::Redirect {
            status: status.as_u16(),
            location,
        });
    }
    Ok(())
}

/// Makes the answers of real providers digestible for `oauth2`, which wants exactly HTTP 200 with
/// a JSON body for success and a JSON `error` body for failure:
/// - errors sent with HTTP 200 (GitHub) become HTTP 400, so they are errors, not a missing field;
/// - form-encoded bodies (GitHub without `Accept`) become JSON;
/// - `expires_in` as a numeric string becomes a number; a missing `token_type` becomes `Bearer`;
/// - comma-separated scopes (GitHub) become space-separated;
/// - anything that is neither a token nor an OAuth error is reported with its HTTP status and a
///   redacted excerpt of the body, instead of a parser message.
pub fn normalize(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: Endpoint,
) -> Result<HttpResponse, HttpError> {
    check_redirect(status, headers)?;
    if endpoint == Endpoint::Revocation && status.is_success() {
        return Ok(json_response(StatusCode::OK, Vec::new()));
    }
    let Some(mut object) = parse_object(headers, body) else {
        return Err(unexpected(status, headers, body));
    };
    let is_error = object.get("error").is_some_and(Value::is_string);
    let status = match (is_error, status.is_success()) {
        (true, _) if status.is_success() => StatusCode::BAD_REQUEST,
        (true, _) => status,
        (false, true) => StatusCode::OK,
        (false, false) => return Err(unexpected(status, headers, body)),
    };
    if !is_error {
        match object.get("expires_in") {
            Some(Value::String(s)) => match s.trim().parse::<u64>() {
                Ok(n) => {
                    object.insert("expires_in".into(), n.into());
                }
                Err(_) => {
                    object.remove("expires_in");
                }
            },
            Some(Value::Number(n)) if n.as_u64().is_none() => {
                // Floats or negatives: keep what is usable, drop the rest.
                match n.as_f64().filter(|f| *f >= 0.0) {
                    Some(f) => object.insert("expires_in".into(), (f as u64).into()),
                    None => object.remove("expires_in"),
                };
            }
            Some(Value::Null) => {
                object.remove("expires_in");
            }
            _ => {}
        }
        if !object.contains_key("token_type") && object.contains_key("access_token") {
            object.insert("token_type".into(), "Bearer".into());
        }
        match object.get("scope") {
            Some(Value::Null) => {
                object.remove("scope");
            }
            // GitHub separates granted scopes with commas (`repo,gist`); RFC 6749 with spaces.
            Some(Value::String(s)) if s.contains(',') && !s.contains(' ') => {
                let spaced = s.split(',').filter(|p| !p.is_empty()).collect::<Vec<_>>();
                object.insert("scope".into(), spaced.join(" ").into());
            }
            _ => {}
        }
    }
    let body = serde_json::to_vec(&Value::Object(object)).unwrap_or_default();
    let mut response = json_response(status, body);
    // A DPoP server's nonce (RFC 9449 §8) travels in a header, which the proof's retry needs.
    if let Some(nonce) = headers.get(crate::protocol::dpop::NONCE_HEADER) {
        response
            .headers_mut()
            .insert(crate::protocol::dpop::NONCE_HEADER, nonce.clone());
    }
    Ok(response)
}

fn json_response(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn parse_object(headers: &HeaderMap, body: &[u8]) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(map)) = serde_json::from_slice(body) {
        return Some(map);
    }
    let is_form = content_type(headers)
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        || (content_type(headers).is_some_and(|c| c.starts_with("text/plain"))
            && body.starts_with(b"access_token="));
    if !is_form || body.is_empty() {
        return None;
    }
    let map: Map<String, Value> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    (map.contains_key("access_token") || map.contains_key("error")).then_some(map)
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase())
}

fn unexpected(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> HttpError {
    HttpError::Unexpected {
        status: status.as_u16(),
        content_type: content_type(headers),
        excerpt: excerpt(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        h
    }

    /// What a token endpoint's answer with HTTP 200 becomes.
    fn token_answer_200(content_type: &str, body: &[u8]) -> Result<HttpResponse, HttpError> {
        normalize(
            StatusCode::OK,
            &headers(content_type),
            body,
            Endpoint::Token,
        )
    }

    fn body_json(r: &HttpResponse) -> Value {
        serde_json::from_slice(r.body()).unwrap()
    }

    #[test]
    fn errors_sent_with_200_become_errors() {
        let r = token_answer_200(
            "application/json",
            br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect"}"#,
        )
        .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn form_encoded_bodies_and_string_expiry_are_accepted() {
        let r = token_answer_200(
            "application/x-www-form-urlencoded; charset=utf-8",
            b"access_token=gho_abc&expires_in=28800&scope=repo%2Cgist&token_type=bearer",
        )
        .unwrap();
        let v = body_json(&r);
        assert_eq!(v["expires_in"], 28800);
        assert_eq!(v["scope"], "repo gist");
        assert_eq!(v["token_type"], "bearer");
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn missing_token_type_and_odd_expiry_are_tolerated() {
        let r = token_answer_200(
            "application/json",
            br#"{"access_token":"x","expires_in":"soon"}"#,
        )
        .unwrap();
        let v = body_json(&r);
        assert_eq!(v["token_type"], "Bearer");
        assert!(v.get("expires_in").is_none());
    }

    #[test]
    fn html_errors_keep_status_and_an_excerpt() {
        let err = normalize(
            StatusCode::INTERNAL_SERVER_ERROR,
            &headers("text/html"),
            b"<html><body>Internal Server Error</body></html>",
            Endpoint::Token,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("HTTP 500") && text.contains("Internal Server Error"),
            "{text}"
        );
    }

    #[test]
    fn truncated_json_is_unexpected_not_a_parser_panic() {
        let err = token_answer_200(
            "application/json",
            br#"{"access_token":"abcdefghijklmnopqrstuvwxyz0123","tok"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("HTTP 200"), "{text}");
        assert!(!text.contains("abcdefghijklmnopqrstuvwxyz0123"), "{text}");
    }

    #[test]
    fn redirects_are_reported_without_their_query() {
        let mut h = HeaderMap::new();
        h.insert(
            header::LOCATION,
            HeaderValue::from_static("https://evil.example/x?code=1"),
        );
        let err = normalize(StatusCode::FOUND, &h, b"", Endpoint::Token).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("302") && text.contains("https://evil.example/x"),
            "{text}"
        );
        assert!(!text.contains("code=1"));
    }

    #[test]
    fn revocation_success_ignores_the_body() {
        let r = normalize(
            StatusCode::OK,
            &headers("text/html"),
            b"<p>ok</p>",
            Endpoint::Revocation,
        )
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn cache_control_max_age_is_read() {
        let cc = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_str(v).unwrap());
            max_age(&h)
        };
        assert_eq!(cc("public, max-age=3600, must-revalidate"), Some(3600));
        assert_eq!(cc("no-store"), Some(0));
        assert_eq!(cc("max-age=soon"), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }

    fn request_to(addr: std::net::SocketAddr) -> HttpRequest {
        let mut request = HttpRequest::new(b"grant_type=x".to_vec());
        *request.method_mut() = oauth2::http::Method::POST;
        *request.uri_mut() = format!("http://{addr}/token").parse().unwrap();
        request
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn debug_never_shows_the_proxys_password() {
        let network = Network {
            proxy: Some("http://me:s3cret-pw@proxy.example:3128".parse().unwrap()),
            ca_file: None,
        };
        let http = Http::for_network(true, Timeouts::default(), &network).unwrap();
        let debug = format!("{http:?}");
        assert!(debug.contains("***@proxy.example"), "{debug}");
        assert!(!debug.contains("s3cret-pw"), "{debug}");
    }

    #[test]
    fn the_total_timeout_is_named_when_the_server_accepts_but_never_answers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let http = Http::with_timeouts(
            false,
            Timeouts {
                connect: Duration::from_secs(5),
                total: Duration::from_secs(1),
            },
        )
        .unwrap();
        let err = runtime()
            .block_on(http.oauth(request_to(addr), Endpoint::Token))
            .unwrap_err();
        drop(listener);
        assert!(
            matches!(
                err,
                HttpError::Timeout {
                    seconds: 1,
                    connect: false
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "no answer within 1 s (the total timeout)");
    }

    #[test]
    fn the_connect_timeout_is_named_when_the_connection_never_opens() {
        // A listener whose accept queue is full: the kernel drops further SYNs, so a connect
        // hangs until the connect timeout (the total one is much longer).
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let rt = runtime();
        let _guard = rt.enter();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        while fillers.len() < 16 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => fillers.push(s),
                Err(_) => break,
            }
        }
        assert!(fillers.len() < 16, "the accept queue never filled up");
        let http = Http::with_timeouts(
            false,
            Timeouts {
                connect: Duration::from_secs(1),
                total: Duration::from_secs(20),
            },
        )
        .unwrap();
        let started = std::time::Instant::now();
        let err = rt
            .block_on(http.oauth(request_to(addr), Endpoint::Token))
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            matches!(
                err,
                HttpError::Timeout {
                    seconds: 1,
                    connect: true
                }
            ),
            "{err:?}"
        );
        let error = err.into_error("token request for profile `p`".into());
        assert_eq!(
            error.to_string(),
            "token request for profile `p`: could not connect within 1 s (the connect timeout). The provider may be down; try again later"
        );
    }
}
