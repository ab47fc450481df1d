//! The authorization response (RFC 6749 §4.1.2) and the loopback listener that receives it from
//! the browser (RFC 8252 §7.3). The deep-link path of the desktop app parses the same response.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::collections::BTreeMap;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use url::{Host, Url};

use crate::error::{Error, Hint, Result};
use crate::model::notice::{Notice, NoticeHook};

mod pages;
use pages::{
    FRAGMENT_SCRIPT, no_store_response, page, page_response, refusal_reason, refused_page,
};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// What the provider sent back through the browser. `Debug` redacts the code and the state.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthorizationResponse {
    Code {
        code: String,
        state: Option<String>,
        /// RFC 9207 issuer identification.
        iss: Option<String>,
    },
    Error {
        error: String,
        description: Option<String>,
        uri: Option<String>,
        state: Option<String>,
        iss: Option<String>,
    },
}

/// How a secret field shows in `Debug`: whether it is there, never its value.
fn redacted(value: Option<&String>) -> Option<&'static str> {
    value.map(|_| "[redacted]")
}

impl std::fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthorizationResponse::Code { code, state, iss } => f
                .debug_struct("Code")
                .field("code", &redacted(Some(code)))
                .field("state", &redacted(state.as_ref()))
                .field("iss", iss)
                .finish(),
            AuthorizationResponse::Error {
                error,
                description,
                uri,
                state,
                iss,
            } => f
                .debug_struct("Error")
                .field("error", error)
                .field("description", description)
                .field("uri", uri)
                .field("state", &redacted(state.as_ref()))
                .field("iss", iss)
                .finish(),
        }
    }
}

impl AuthorizationResponse {
    /// Reads the response from a redirect URL's query. `None` when it is neither a code nor an
    /// error (a probe, a bookmark).
    pub fn from_url(url: &Url) -> Option<Self> {
        let mut code = None;
        let mut state = None;
        let mut iss = None;
        let mut error = None;
        let mut description = None;
        let mut uri = None;
        for (k, v) in url.query_pairs() {
            let slot = match k.as_ref() {
                "code" => &mut code,
                "state" => &mut state,
                "iss" => &mut iss,
                "error" => &mut error,
                "error_description" => &mut description,
                "error_uri" => &mut uri,
                _ => continue,
            };
            // A repeated parameter is ambiguous (RFC 6749 §3.1): refuse the response.
            if slot.replace(v.into_owned()).is_some() {
                return Some(AuthorizationResponse::Error {
                    error: "invalid_request".into(),
                    description: Some(format!("the parameter `{k}` appears twice")),
                    uri: None,
                    state: None,
                    iss: None,
                });
            }
        }
        match (error, code) {
            (Some(error), _) => Some(AuthorizationResponse::Error {
                error,
                description,
                uri,
                state,
                iss,
            }),
            (None, Some(code)) => Some(AuthorizationResponse::Code { code, state, iss }),
            (None, None) => None,
        }
    }

    pub fn state(&self) -> Option<&str> {
        match self {
            AuthorizationResponse::Code { state, .. }
            | AuthorizationResponse::Error { state, .. } => state.as_deref(),
        }
    }
}

/// The parameters of an implicit response (the redirect's fragment, RFC 6749 §4.2.2), as the
/// loopback page posts them back. A repeated parameter is refused (RFC 6749 §3.1).
pub fn parse_fragment(fragment: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut params = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(fragment.trim_start_matches('#').as_bytes()) {
        if params.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("the parameter `{k}` appears twice"));
        }
    }
    if params.is_empty() {
        return Err("the redirect carried no fragment".into());
    }
    Ok(params)
}

/// What one request to the listener amounted to.
enum Outcome<T> {
    /// Not a response (a favicon, a probe, the implicit page or its script).
    Other,
    /// A response whose `state` is missing or not ours: refused and ignored, for this reason.
    WrongState(String),
    /// The response of the sign-in in progress.
    Accepted(T),
}

/// How long the accept loop pauses after a failed `accept` (e.g. out of file descriptors), so
/// that a persistent failure does not spin the CPU.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Where the loopback listener serves [`FRAGMENT_SCRIPT`].
pub const FRAGMENT_SCRIPT_PATH: &str = "/callback.js";

/// The most a posted fragment may weigh (tokens are a few KiB; id_tokens a few more).
const MAX_FRAGMENT: usize = 64 << 10;

/// A listener on 127.0.0.1 (or the loopback address the profile names) waiting for one redirect.
pub struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: Url,
    notices: Option<NoticeHook>,
}

impl LoopbackListener {
    /// Binds the listener. Without a configured URI: a random port and `/callback`.
    pub async fn bind(configured: Option<&Url>) -> Result<Self> {
        let (ip, port, path) = match configured {
            Some(uri) => {
                let ip = match uri.host() {
                    Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
                    Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
                    _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
                };
                (ip, uri.port().unwrap_or(0), uri.path().to_string())
            }
            None => (IpAddr::V4(Ipv4Addr::LOCALHOST), 0, "/callback".to_string()),
        };
        let listener = TcpListener::bind(SocketAddr::new(ip, port))
            .await
            .map_err(|e| {
                // A fixed port is the one registered at the provider: another cannot stand in.
                let why = match (port, e.kind()) {
                    (0, _) => String::new(),
                    (_, std::io::ErrorKind::AddrInUse) => " (the profile's redirect URI, registered at the provider, names this port; another program holds it: close that program and sign in again)".to_string(),
                    _ => " (the profile's redirect URI names this port)".to_string(),
                };
                Error::io(
                    format!("cannot listen on {ip} port {port} for the sign-in redirect{why}"),
                    e,
                )
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the listener's port", e))?
            .port();
        let host = match ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let redirect_uri = Url::parse(&format!("http://{host}:{port}{path}"))
            .map_err(|e| Error::InvalidInput(format!("bad redirect URI: {e}")))?;
        Ok(LoopbackListener {
            listener,
            redirect_uri,
            notices: None,
        })
    }

    /// Where to say at once that a response was refused (see [`Notice::CallbackRefused`]);
    /// without a hook the refusal shows only in the final error.
    pub fn with_notices(mut self, hook: Option<NoticeHook>) -> Self {
        self.notices = hook;
        self
    }

    /// What [`LoopbackListener::serve_until`] calls with the reason of each refusal.
    fn refusal_notifier(&self, profile: &str, timeout: Duration) -> Refused {
        let hook = self.notices.clone();
        let profile = profile.to_string();
        let deadline = tokio::time::Instant::now() + timeout;
        Arc::new(move |reason: String| {
            if let Some(hook) = &hook {
                hook(&Notice::CallbackRefused {
                    profile: profile.clone(),
                    reason,
                    remaining: deadline.saturating_duration_since(tokio::time::Instant::now()),
                });
            }
        })
    }

    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Serves the browser until the response of this sign-in arrives (a request to the redirect
    /// path whose `state` is `state`), answers it with a short page, and returns what it carried.
    /// Other paths (favicon, probes) get a 404; a response whose `state` is missing or differs
    /// gets an error page (400) and is ignored: it belongs to no sign-in of ours, and any web
    /// page can send one to a fixed loopback port. The wait goes on until the right response or
    /// `timeout`.
    pub async fn wait(
        self,
        profile: &str,
        state: &str,
        timeout: Duration,
    ) -> Result<AuthorizationResponse> {
        let path = self.redirect_uri.path().to_string();
        let state = state.to_string();
        let handle = move |req: Request<Incoming>| {
            let (status, page, outcome) = answer(&req, &path, &state);
            async move { (page_response(status, page), outcome) }
        };
        let retry = Hint::RetrySignIn {
            profile: profile.to_string(),
        };
        self.serve_until(handle, profile, timeout, retry).await
    }

    /// Accepts the browser's connections until `handle` accepts one request, and hands its
    /// result over once its page has been sent. Refusals are reported as they happen; on
    /// timeout, the sign-in error counts them and carries `retry`.
    async fn serve_until<T, H, F>(
        &self,
        handle: H,
        profile: &str,
        timeout: Duration,
        retry: Hint,
    ) -> Result<T>
    where
        T: Send + 'static,
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = (Response<Full<Bytes>>, Outcome<T>)> + Send + 'static,
    {
        let notify = self.refusal_notifier(profile, timeout);
        let (tx, mut rx) = mpsc::channel::<T>(1);
        let refused = Arc::new(AtomicUsize::new(0));
        let serve = async {
            loop {
                let stream = match self.listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let (tx, handle, refused) = (tx.clone(), handle.clone(), refused.clone());
                let notify = notify.clone();
                tokio::spawn(async move {
                    let found: Arc<Mutex<Option<T>>> = Arc::default();
                    let slot = found.clone();
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (handle, slot, refused, notify) = (
                            handle.clone(),
                            slot.clone(),
                            refused.clone(),
                            notify.clone(),
                        );
                        async move {
                            let (response, outcome) = handle(req).await;
                            match outcome {
                                Outcome::Accepted(result) => {
                                    if let Ok(mut slot) = slot.lock() {
                                        *slot = Some(result);
                                    }
                                }
                                Outcome::WrongState(reason) => {
                                    refused.fetch_add(1, Ordering::SeqCst);
                                    notify(reason);
                                }
                                Outcome::Other => {}
                            }
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service);
                    // A silent connection (a browser's preconnect) must not linger forever.
                    let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
                    // Hand the result over only once the page has been sent.
                    let result = found.lock().ok().and_then(|mut s| s.take());
                    if let Some(result) = result {
                        let _ = tx.send(result).await;
                    }
                });
            }
        };
        let outcome = tokio::select! {
            result = rx.recv() => result.ok_or(0),
            _ = serve => unreachable!("the accept loop never ends"),
            _ = tokio::time::sleep(timeout) => Err(refused.load(Ordering::SeqCst)),
        };
        outcome.map_err(|refused| timed_out(profile, timeout, refused, retry))
    }
}

/// Told the reason of each refused response, as it happens.
type Refused = Arc<dyn Fn(String) + Send + Sync>;

/// The error when no acceptable response came in time, counting the refused ones.
fn timed_out(profile: &str, timeout: Duration, refused: usize, next: Hint) -> Error {
    let secs = timeout.as_secs();
    let detail = match refused {
        0 => format!("no answer from the browser within {secs} s"),
        n => format!(
            "no valid answer from the browser within {secs} s: {n} {} with a wrong or missing `state` {} refused (a stale tab or a forged redirect; {} to no sign-in Latchkey started); nothing was stored",
            if n == 1 { "response" } else { "responses" },
            if n == 1 { "was" } else { "were" },
            if n == 1 { "it belongs" } else { "they belong" },
        ),
    };
    Error::SignIn {
        profile: profile.to_string(),
        detail,
    }
    .with_hint(next)
}

impl LoopbackListener {
    /// For the implicit grant: serves the redirect path a page whose script (at
    /// [`FRAGMENT_SCRIPT_PATH`]) posts the fragment back to the same path, and returns the
    /// posted parameters. Parameters whose `state` is missing or not `state` are answered with
    /// an error (400) and ignored, as in [`LoopbackListener::wait`].
    pub async fn wait_fragment(
        self,
        profile: &str,
        state: &str,
        timeout: Duration,
    ) -> Result<BTreeMap<String, String>> {
        let path = self.redirect_uri.path().to_string();
        let origin = self.redirect_uri.origin().ascii_serialization();
        let state = state.to_string();
        let handle = move |req: Request<Incoming>| {
            let (path, origin, state) = (path.clone(), origin.clone(), state.clone());
            async move { answer_fragment(req, &path, &origin, &state).await }
        };
        let retry = Hint::RetryImplicitSignIn {
            profile: profile.to_string(),
        };
        self.serve_until(handle, profile, timeout, retry).await
    }
}

/// One request of the implicit hand-off: the page, its script, or the posted fragment (then
/// also the parameters, when their state is ours).
async fn answer_fragment(
    req: Request<Incoming>,
    path: &str,
    origin: &str,
    expected_state: &str,
) -> (Response<Full<Bytes>>, Outcome<BTreeMap<String, String>>) {
    let text = |status: StatusCode, message: &str| {
        no_store_response(status, message.to_string(), "text/plain; charset=utf-8")
    };
    let not_found = || page_response(StatusCode::NOT_FOUND, page("Not found", "Nothing here."));
    let method = req.method().clone();
    let request_path = req.uri().path().to_string();
    match (method, request_path.as_str()) {
        (hyper::Method::GET, p) if p == FRAGMENT_SCRIPT_PATH => {
            let mut r = no_store_response(
                StatusCode::OK,
                FRAGMENT_SCRIPT,
                "text/javascript; charset=utf-8",
            );
            r.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".parse().expect("static"),
            );
            (r, Outcome::Other)
        }
        (hyper::Method::GET, p) if p == path => {
            let body = format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Latchkey: signing in</title>\
                 <script src=\"{FRAGMENT_SCRIPT_PATH}\"></script></head>\
                 <body><h1>Latchkey</h1><p id=\"m\">Handing the sign-in to Latchkey…</p>\
                 <noscript><p>This sign-in (implicit grant) needs JavaScript to pass the token from the address bar to Latchkey.</p></noscript></body></html>"
            );
            let mut r = page_response(StatusCode::OK, body);
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'"
                    .parse()
                    .expect("static"),
            );
            (r, Outcome::Other)
        }
        (hyper::Method::POST, p) if p == path => {
            // Only the page itself posts here; another site's form post is refused.
            let foreign = req
                .headers()
                .get(header::ORIGIN)
                .is_some_and(|o| o.as_bytes() != origin.as_bytes());
            if foreign {
                return (
                    text(
                        StatusCode::FORBIDDEN,
                        "Refused: this request comes from another site.",
                    ),
                    Outcome::Other,
                );
            }
            let body = match Limited::new(req.into_body(), MAX_FRAGMENT).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return (
                        text(StatusCode::PAYLOAD_TOO_LARGE, "Too large."),
                        Outcome::Other,
                    );
                }
            };
            let params = match parse_fragment(&String::from_utf8_lossy(&body)) {
                Ok(p) => p,
                Err(e) => {
                    return (
                        text(
                            StatusCode::BAD_REQUEST,
                            &format!("Sign-in rejected: {e}. Nothing was stored."),
                        ),
                        Outcome::Other,
                    );
                }
            };
            let state = params.get("state").map(String::as_str);
            if state != Some(expected_state) {
                let reason = refusal_reason(state, params.get("error").map(String::as_str), None);
                return (
                    text(StatusCode::BAD_REQUEST, &refused_page(state, &reason)),
                    Outcome::WrongState(reason),
                );
            }
            let message = match (params.get("error"), params.get("error_description")) {
                (Some(e), Some(d)) => format!("Sign-in failed: the provider answered {e}: {d}"),
                (Some(e), None) => format!("Sign-in failed: the provider answered {e}."),
                (None, _) => "Latchkey received the sign-in. You can close this tab.".into(),
            };
            (text(StatusCode::OK, &message), Outcome::Accepted(params))
        }
        _ => (not_found(), Outcome::Other),
    }
}

/// Decides how to answer one request: status, page, and the response if this was the redirect
/// of our sign-in.
fn answer(
    req: &Request<Incoming>,
    path: &str,
    expected_state: &str,
) -> (StatusCode, String, Outcome<AuthorizationResponse>) {
    let not_found = (
        StatusCode::NOT_FOUND,
        page("Not found", "Nothing here."),
        Outcome::Other,
    );
    if req.method() != hyper::Method::GET || req.uri().path() != path {
        return not_found;
    }
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{}", req.uri())) else {
        return not_found;
    };
    let Some(response) = AuthorizationResponse::from_url(&url) else {
        return not_found;
    };
    if response.state() != Some(expected_state) {
        let reason = match &response {
            AuthorizationResponse::Code { state, .. } => {
                refusal_reason(state.as_deref(), None, None)
            }
            AuthorizationResponse::Error {
                error,
                description,
                state,
                ..
            } => refusal_reason(state.as_deref(), Some(error), description.as_deref()),
        };
        return (
            StatusCode::BAD_REQUEST,
            page("Sign-in rejected", &refused_page(response.state(), &reason)),
            Outcome::WrongState(reason),
        );
    }
    match &response {
        AuthorizationResponse::Code { .. } => (
            StatusCode::OK,
            page(
                "Signed in",
                "Latchkey received the sign-in. You can close this tab.",
            ),
            Outcome::Accepted(response),
        ),
        AuthorizationResponse::Error {
            error, description, ..
        } => {
            let detail = match description {
                Some(d) => format!("The provider answered {error}: {d}"),
                None => format!("The provider answered {error}."),
            };
            (
                StatusCode::OK,
                page("Sign-in failed", &detail),
                Outcome::Accepted(response),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<AuthorizationResponse> {
        AuthorizationResponse::from_url(&Url::parse(s).unwrap())
    }

    #[test]
    fn codes_errors_and_probes_are_told_apart() {
        assert_eq!(
            parse("http://127.0.0.1/callback?code=c&state=s&iss=https%3A%2F%2Fi"),
            Some(AuthorizationResponse::Code {
                code: "c".into(),
                state: Some("s".into()),
                iss: Some("https://i".into())
            })
        );
        let err = parse("latchkey://callback?error=access_denied&error_description=no+way&state=s")
            .unwrap();
        assert!(matches!(
            &err,
            AuthorizationResponse::Error { error, description: Some(d), .. } if error == "access_denied" && d == "no way"
        ));
        assert_eq!(err.state(), Some("s"));
        assert_eq!(parse("http://127.0.0.1/callback"), None);
        assert_eq!(parse("http://127.0.0.1/callback?foo=bar"), None);
    }

    #[test]
    fn debug_output_never_shows_the_code_or_state() {
        for url in [
            "http://127.0.0.1/callback?code=code-very-secret&state=state-very-secret&iss=https%3A%2F%2Fi",
            "http://127.0.0.1/callback?error=access_denied&state=state-very-secret",
        ] {
            let debug = format!("{:?}", parse(url).unwrap());
            assert!(!debug.contains("very-secret"), "{debug}");
            assert!(debug.contains("[redacted]"), "{debug}");
        }
        let debug = format!(
            "{:?}",
            parse("http://127.0.0.1/callback?code=c&iss=https%3A%2F%2Fi").unwrap()
        );
        assert!(
            debug.contains("state: None") && debug.contains("https://i"),
            "{debug}"
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let r = parse("http://127.0.0.1/callback?code=a&code=b&state=s").unwrap();
        assert!(
            matches!(r, AuthorizationResponse::Error { ref error, .. } if error == "invalid_request")
        );
    }

    #[test]
    fn fragments_are_parsed_and_repeats_refused() {
        let p = parse_fragment("#access_token=a%2Bb&token_type=bearer&state=s").unwrap();
        assert_eq!(p["access_token"], "a+b");
        assert_eq!(p["state"], "s");
        assert!(parse_fragment("state=a&state=b").is_err());
        assert!(parse_fragment("").is_err());
    }
}
