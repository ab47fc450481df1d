//! The authorization response (RFC 6749 §4.1.2) and the loopback listener that receives it from
//! the browser (RFC 8252 §7.3). The deep-link path of the desktop app parses the same response.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use url::{Host, Url};

use crate::error::{Error, Result};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// What the provider sent back through the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A listener on 127.0.0.1 (or the loopback address the profile names) waiting for one redirect.
pub struct LoopbackListener {
    listener: TcpListener,
    redirect_uri: Url,
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
                Error::io(
                    format!("cannot listen on {ip} port {port} for the sign-in redirect"),
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
        })
    }

    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Serves the browser until a request to the redirect path arrives, answers it with a short
    /// page, and returns what it carried. Other paths (favicon, probes) get a 404 and are
    /// ignored. A response whose `state` differs from `state` is answered with an error page
    /// and returned as an error: it belongs to no sign-in of ours.
    pub async fn wait(
        self,
        profile: &str,
        state: &str,
        timeout: Duration,
    ) -> Result<AuthorizationResponse> {
        let (tx, mut rx) = mpsc::channel::<AuthorizationResponse>(1);
        let path = self.redirect_uri.path().to_string();
        let state = state.to_string();
        let serve = async {
            loop {
                let Ok((stream, _)) = self.listener.accept().await else {
                    continue;
                };
                let tx = tx.clone();
                let path = path.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    let found: Arc<Mutex<Option<AuthorizationResponse>>> = Arc::default();
                    let slot = found.clone();
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (status, page, response) = answer(&req, &path, &state);
                        if let Some(response) = response
                            && let Ok(mut slot) = slot.lock()
                        {
                            *slot = Some(response);
                        }
                        async move { Ok::<_, std::convert::Infallible>(page_response(status, page)) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service);
                    // A silent connection (a browser's preconnect) must not linger forever.
                    let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
                    // Hand the result over only once the page has been sent.
                    let result = found.lock().ok().and_then(|mut s| s.take());
                    if let Some(response) = result {
                        let _ = tx.send(response).await;
                    }
                });
            }
        };
        tokio::select! {
            response = rx.recv() => {
                let response = response.ok_or_else(|| Error::SignIn {
                    profile: profile.to_string(),
                    detail: "the loopback listener stopped".into(),
                })?;
                Ok(response)
            }
            _ = serve => unreachable!("the accept loop never ends"),
            _ = tokio::time::sleep(timeout) => Err(Error::SignIn {
                profile: profile.to_string(),
                detail: format!(
                    "no answer from the browser within {} s. Run `latchkey login {profile}` again; with --no-browser it prints the URL to open yourself",
                    timeout.as_secs()
                ),
            }),
        }
    }
}

/// Decides how to answer one request: status, page, and the response if this was the redirect.
fn answer(
    req: &Request<Incoming>,
    path: &str,
    expected_state: &str,
) -> (StatusCode, String, Option<AuthorizationResponse>) {
    let not_found = (
        StatusCode::NOT_FOUND,
        page("Not found", "Nothing here."),
        None,
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
        return (
            StatusCode::BAD_REQUEST,
            page(
                "Sign-in rejected",
                "This response does not belong to the sign-in Latchkey started (its state does not match). Nothing was stored. Start the sign-in again.",
            ),
            Some(response),
        );
    }
    match &response {
        AuthorizationResponse::Code { .. } => (
            StatusCode::OK,
            page(
                "Signed in",
                "Latchkey received the sign-in. You can close this tab.",
            ),
            Some(response),
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
                Some(response),
            )
        }
    }
}

fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Latchkey: {t}</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;color:#222;background:#fff}}\
         @media(prefers-color-scheme:dark){{body{{color:#eee;background:#1b1b1f}}}}</style></head>\
         <body><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape(title),
        m = escape(message)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        "text/html; charset=utf-8".parse().expect("static"),
    );
    headers.insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    headers.insert(
        header::REFERRER_POLICY,
        "no-referrer".parse().expect("static"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'"
            .parse()
            .expect("static"),
    );
    response
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
    fn repeated_parameters_are_refused() {
        let r = parse("http://127.0.0.1/callback?code=a&code=b&state=s").unwrap();
        assert!(
            matches!(r, AuthorizationResponse::Error { ref error, .. } if error == "invalid_request")
        );
    }

    #[test]
    fn pages_escape_provider_text() {
        let p = page("x", "<script>alert(1)</script>");
        assert!(!p.contains("<script>alert"));
    }
}
