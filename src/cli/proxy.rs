//! `latchkey proxy`: for tools that can't do OAuth, only talk to a base URL. The proxy forwards
//! each request to the upstream API with the account's token in `Authorization`, taken from the
//! door per request (rules, asking and history apply; the door sees the caller as the proxy's
//! client). On TCP, a random path segment printed at start keeps other local users out; on a
//! Unix socket, its mode and the peer's uid do.

use latchkey::protocol::dpop::{self, ProofTarget};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use clap::Args;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyDataStream, BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::{HeaderMap, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use latchkey::door::{Arrival, Caller, Door, Handed, Purpose, Request as DoorRequest};
use latchkey::model::untrusted::for_terminal;
use latchkey::{Error, Latchkey, Result};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use url::Url;

use super::completions::account_names;
use super::front::{error_body, error_json, random_secret, status_of, stop_signals};
use super::proxy_path::{below_base, upstream_url};

/// Request bodies up to this size are kept, to send again after a refresh when the upstream
/// answers 401; larger ones stream through once.
pub const RETRY_BODY: usize = 1 << 20;
/// Seconds a token must stay valid to go out with a request.
const MIN_VALID: u32 = 60;
/// After a refresh, a 401 within this time goes back to the client without another.
const REFRESH_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Args)]
pub struct ProxyArgs {
    /// The account whose token goes with every request: `PROFILE/LABEL`, or `PROFILE`.
    #[arg(add = account_names())]
    account: String,
    /// The API's base URL; request paths below the proxy's base URL are joined to it.
    #[arg(long, value_name = "URL")]
    upstream: Url,
    /// The loopback address and port to listen on (default: a free port).
    #[arg(long, value_name = "127.0.0.1:PORT", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Listen on a Unix socket (mode 0600, only this user's processes) instead of TCP.
    #[arg(long, value_name = "PATH", conflicts_with = "listen")]
    socket: Option<PathBuf>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

struct Proxy {
    door: Door,
    account: String,
    upstream: Url,
    client: reqwest::Client,
    /// `/SECRET` on TCP; none on a Unix socket.
    prefix: Option<String>,
    /// One refresh at a time (a burst of 401s for the same token makes one), and when the last
    /// one was made.
    refreshing: tokio::sync::Mutex<Option<Instant>>,
    /// The upstream's latest DPoP nonce (RFC 9449 §9), for the proofs of the next requests.
    nonce: std::sync::Mutex<Option<String>>,
}

enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener, PathBuf),
}

pub async fn run(engine: Arc<Latchkey>, args: ProxyArgs) -> Result<()> {
    if !matches!(args.upstream.scheme(), "http" | "https") || args.upstream.host().is_none() {
        return Err(Error::InvalidInput(format!(
            "--upstream must be an http or https URL, not {}",
            args.upstream
        )));
    }
    // The token goes in every request: https, or plain http only on this machine.
    latchkey::model::profile::validate_endpoint(&args.upstream, "--upstream")?;
    let client = engine.forwarding_client(&args.account, &args.upstream)?;
    let (listener, base, prefix) = match &args.socket {
        #[cfg(unix)]
        Some(path) => {
            let listener = bind_socket(path)?;
            (listener, format!("unix:{}", path.display()), None)
        }
        #[cfg(not(unix))]
        Some(_) => return Err(Error::InvalidInput("--socket needs a Unix system".into())),
        None => {
            if !args.listen.ip().is_loopback() {
                return Err(Error::InvalidInput(format!(
                    "--listen must be a loopback address (127.0.0.1:PORT), not {}",
                    args.listen
                )));
            }
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .map_err(|e| Error::io(format!("cannot listen on {}", args.listen), e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| Error::io("cannot read the listening address", e))?;
            let secret = random_secret();
            (
                Listener::Tcp(listener),
                format!("http://{addr}/{secret}/"),
                Some(format!("/{secret}")),
            )
        }
    };
    let proxy = Arc::new(Proxy {
        door: Door::new(engine).with_cache(),
        account: args.account,
        upstream: args.upstream,
        client,
        prefix,
        refreshing: tokio::sync::Mutex::new(None),
        nonce: std::sync::Mutex::new(None),
    });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{base}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("cannot write to standard output", e))?;
    }
    eprintln!(
        "latchkey proxy: forwarding to {} with the token of {} until interrupted",
        proxy.upstream, proxy.account
    );
    let stop = stop_signals()?;
    accept_loop(proxy, &listener, stop).await;
    #[cfg(unix)]
    if let Listener::Unix(_, path) = &listener {
        let _ = std::fs::remove_file(path);
    }
    eprintln!("latchkey proxy: stopped");
    Ok(())
}

/// A Unix socket only this user can connect to: created under a umask that leaves it 0600.
#[cfg(unix)]
fn bind_socket(path: &std::path::Path) -> Result<Listener> {
    use std::os::unix::fs::PermissionsExt;
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = tokio::net::UnixListener::bind(path);
    rustix::process::umask(old);
    let listener =
        bound.map_err(|e| Error::io(format!("cannot listen on {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("cannot restrict {}", path.display()), e))?;
    Ok(Listener::Unix(listener, path.to_path_buf()))
}

async fn accept_loop(proxy: Arc<Proxy>, listener: &Listener, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = accept(listener) => accepted,
            () = &mut stop => return,
        };
        match accepted {
            Ok(Some((io, caller))) => {
                let proxy = proxy.clone();
                tokio::spawn(async move {
                    let caller = match caller.await {
                        Ok(caller) => caller,
                        Err(_) => Caller::remote(Arrival::Proxy),
                    };
                    serve(proxy, io, caller).await;
                });
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("latchkey proxy: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

type CallerLookup = tokio::task::JoinHandle<Caller>;

/// A connection and, looked up beside it, its caller; `None` for a peer of another user.
async fn accept(listener: &Listener) -> std::io::Result<Option<(Box<dyn Io>, CallerLookup)>> {
    match listener {
        Listener::Tcp(listener) => {
            let (stream, peer) = listener.accept().await?;
            let local = stream.local_addr()?;
            let _ = stream.set_nodelay(true);
            // Reading /proc for the client's process is blocking work.
            let lookup = tokio::task::spawn_blocking(move || {
                Caller::local_peer(Arrival::Proxy, peer_pid(peer, local))
            });
            Ok(Some((Box::new(stream), lookup)))
        }
        #[cfg(unix)]
        Listener::Unix(listener, _) => {
            let (stream, _) = listener.accept().await?;
            let cred = stream.peer_cred()?;
            if cred.uid() != rustix::process::geteuid().as_raw() {
                eprintln!(
                    "latchkey proxy: refused a connection from uid {} (not this user)",
                    cred.uid()
                );
                return Ok(None);
            }
            let pid = cred.pid().and_then(|p| u32::try_from(p).ok());
            let lookup =
                tokio::task::spawn_blocking(move || Caller::local_peer(Arrival::Proxy, pid));
            Ok(Some((Box::new(stream), lookup)))
        }
    }
}

#[cfg(target_os = "linux")]
fn peer_pid(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    latchkey::door::caller::tcp_peer_pid(peer, local)
}

#[cfg(not(target_os = "linux"))]
fn peer_pid(_: SocketAddr, _: SocketAddr) -> Option<u32> {
    None
}

async fn serve(proxy: Arc<Proxy>, io: Box<dyn Io>, caller: Caller) {
    let caller = Arc::new(caller);
    let service = hyper::service::service_fn(move |req| {
        let proxy = proxy.clone();
        let caller = caller.clone();
        async move { Ok::<_, Infallible>(proxy.answer(&caller, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(60))
        .serve_connection(TokioIo::new(io), service);
    let _ = conn.await;
}

impl Proxy {
    async fn answer(&self, caller: &Caller, req: Request<Incoming>) -> Response<ProxyBody> {
        let started = Instant::now();
        let method = req.method().clone();
        let (path, response) = match below_base(self.prefix.as_deref(), req.uri().path()) {
            Some(rest) => {
                let rest = rest.to_string();
                let response = self.forward(caller, &rest, req).await;
                (rest, response)
            }
            None => (
                "(not below the base URL)".to_string(),
                json_response(
                    StatusCode::NOT_FOUND,
                    &error_body("not-found", "not below the proxy's base URL"),
                ),
            ),
        };
        eprintln!(
            "latchkey proxy: {method} {} {} {} ms",
            for_terminal(&path),
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
        response
    }

    async fn forward(
        &self,
        caller: &Caller,
        rest: &str,
        req: Request<Incoming>,
    ) -> Response<ProxyBody> {
        let Some(url) = upstream_url(&self.upstream, rest, req.uri().query()) else {
            return json_response(
                StatusCode::NOT_FOUND,
                &error_body("not-found", "not below the upstream's path"),
            );
        };
        let (parts, body) = req.into_parts();
        // The request a DPoP-bound token's proof names (ignored for a Bearer token).
        let target = |nonce: Option<String>| ProofTarget {
            method: parts.method.to_string(),
            url: url.clone(),
            nonce,
        };
        let handed = match self
            .token(caller, Purpose::Proxy, target(self.last_nonce()))
            .await
        {
            Ok(handed) => handed,
            Err(e) => return json_response(status_of(e.kind()), &error_json(&e)),
        };
        let headers = forwarded_headers(&parts.headers);
        let body = match kept(body).await {
            Ok(body) => body,
            Err(e) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &error_body("client", &format!("reading the request body: {e}")),
                );
            }
        };
        let send = |handed: &Handed, body: reqwest::Body| {
            let mut request = self
                .client
                .request(parts.method.clone(), url.clone())
                .headers(headers.clone())
                .header(
                    header::AUTHORIZATION,
                    format!("{} {}", handed.scheme(), handed.access_token.as_str()),
                );
            if let Some(proof) = &handed.dpop_proof {
                request = request.header(dpop::HEADER, proof.as_str());
            }
            request.body(body).send()
        };
        let (first, again) = match body {
            Kept::Whole(bytes) => (reqwest::Body::from(bytes.clone()), Some(bytes)),
            Kept::Streamed(body) => (reqwest::Body::wrap_stream(BodyDataStream::new(body)), None),
        };
        let mut answer = send(&handed, first).await;
        let nonce = match &answer {
            Ok(response) => self.keep_nonce(response.headers()),
            Err(_) => None,
        };
        // RFC 9449 §9: a resource server that wants its nonce in the proof says so with a 401;
        // the request goes again with a fresh proof that carries it (when its body allows).
        if let (Ok(response), Some(nonce), Some(bytes)) = (&answer, nonce, &again)
            && response.status() == StatusCode::UNAUTHORIZED
            && handed.dpop_proof.is_some()
            && asks_for_nonce(response.headers())
        {
            match self
                .token(caller, Purpose::Proxy, target(Some(nonce)))
                .await
            {
                Ok(again) => {
                    answer = send(&again, reqwest::Body::from(bytes.clone())).await;
                    if let Ok(response) = &answer {
                        self.keep_nonce(response.headers());
                    }
                }
                Err(e) => eprintln!("latchkey proxy: no proof with the upstream's nonce: {e}"),
            }
        }
        if let Ok(response) = &answer
            && response.status() == StatusCode::UNAUTHORIZED
            && !asks_for_nonce(response.headers())
        {
            // A body that streamed through cannot be sent again: the 401 goes back, and the
            // refreshed token serves the next requests.
            match (
                self.refreshed(caller, &handed, target(self.last_nonce()))
                    .await,
                again,
            ) {
                (Ok(Some(fresh)), Some(bytes)) => {
                    answer = send(&fresh, reqwest::Body::from(bytes)).await;
                }
                (Ok(_), _) => {}
                (Err(e), _) => eprintln!(
                    "latchkey proxy: the upstream refused the token and it could not be refreshed: {e}"
                ),
            }
        }
        match answer {
            Ok(response) => passed_back(response),
            Err(e) => json_response(
                StatusCode::BAD_GATEWAY,
                &error_body(
                    "upstream",
                    &format!(
                        "the upstream did not answer: {}",
                        latchkey::protocol::http::error_chain(&e)
                    ),
                ),
            ),
        }
    }

    async fn token(&self, caller: &Caller, purpose: Purpose, proof: ProofTarget) -> Result<Handed> {
        self.door
            .hand_out(DoorRequest {
                account: self.account.clone(),
                purpose,
                min_valid: MIN_VALID,
                caller: caller.clone(),
                proof: Some(proof),
            })
            .await
    }

    fn last_nonce(&self) -> Option<String> {
        self.nonce.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps the nonce an upstream answer carries, and returns it.
    fn keep_nonce(&self, headers: &HeaderMap) -> Option<String> {
        let nonce = dpop::nonce_from(headers)?;
        *self.nonce.lock().unwrap_or_else(|e| e.into_inner()) = Some(nonce.clone());
        Some(nonce)
    }

    /// A token other than `rejected`: another request's refresh, or a refresh now; `None`
    /// when the proxy refreshed less than [`REFRESH_AT_MOST_EVERY`] ago (an upstream that
    /// refuses every token must not make a refresh of every request).
    async fn refreshed(
        &self,
        caller: &Caller,
        rejected: &Handed,
        proof: ProofTarget,
    ) -> Result<Option<Handed>> {
        let mut last = self.refreshing.lock().await;
        let current = self.token(caller, Purpose::Proxy, proof.clone()).await?;
        if current.access_token != rejected.access_token {
            return Ok(Some(current));
        }
        if last.is_some_and(|t| t.elapsed() < REFRESH_AT_MOST_EVERY) {
            return Ok(None);
        }
        let fresh = self.token(caller, Purpose::Refresh, proof).await?;
        *last = Some(Instant::now());
        Ok(Some(fresh))
    }
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), and those the proxy
/// sets itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn without_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let n = name.as_str();
        if !HOP_BY_HOP.contains(&n) && !named.iter().any(|c| c == n) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The client's headers as they go upstream: no hop-by-hop ones, no `Host` (the upstream's),
/// and no `Authorization` or `DPoP` (the account's token and proof replace them).
fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = without_hop_by_hop(headers);
    out.remove(header::HOST);
    out.remove(header::AUTHORIZATION);
    out.remove(dpop::HEADER);
    out
}

/// Whether a 401 asks for a DPoP proof with the server's nonce (RFC 9449 §9).
fn asks_for_nonce(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(dpop::USE_NONCE))
}

/// The upstream's answer, streamed back as it comes; redirects included (not followed).
fn passed_back(response: reqwest::Response) -> Response<ProxyBody> {
    let response: hyper::Response<reqwest::Body> = response.into();
    let (mut parts, body) = response.into_parts();
    parts.headers = without_hop_by_hop(&parts.headers);
    Response::from_parts(parts, body.map_err(BoxError::from).boxed_unsync())
}

fn json_response(status: StatusCode, body: &Value) -> Response<ProxyBody> {
    let body = Full::new(Bytes::from(body.to_string()))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// A request body: whole when it fits the retry buffer, else what was read and the rest.
enum Kept {
    Whole(Bytes),
    Streamed(Prefixed),
}

/// Reads `body` up to [`RETRY_BODY`]: all of it when it fits, else streams on.
async fn kept(mut body: Incoming) -> std::result::Result<Kept, hyper::Error> {
    let mut read = VecDeque::new();
    let mut size = 0;
    if body.size_hint().lower() as usize <= RETRY_BODY {
        while let Some(frame) = body.frame().await {
            // Trailers of a request are rare; they are not forwarded.
            let Ok(data) = frame?.into_data() else {
                continue;
            };
            size += data.len();
            read.push_back(data);
            if size > RETRY_BODY {
                return Ok(Kept::Streamed(Prefixed { read, rest: body }));
            }
        }
        let mut whole = Vec::with_capacity(size);
        for chunk in read {
            whole.extend_from_slice(&chunk);
        }
        return Ok(Kept::Whole(Bytes::from(whole)));
    }
    Ok(Kept::Streamed(Prefixed { read, rest: body }))
}

/// A body of which the first chunks were already read.
struct Prefixed {
    read: VecDeque<Bytes>,
    rest: Incoming,
}

impl Body for Prefixed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(chunk) = self.read.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_host_and_authorization_stay_behind() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, x-private".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        h.insert(header::HOST, "127.0.0.1".parse().unwrap());
        h.insert(header::AUTHORIZATION, "Bearer mine".parse().unwrap());
        h.insert(header::ACCEPT, "*/*".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        let out = forwarded_headers(&h);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[header::ACCEPT], "*/*");
    }
}
