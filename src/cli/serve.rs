//! `latchkey serve`: tokens for a container, a VM or WSL over HTTP. The endpoint hands out only
//! the accounts named with `--account`, only to a client that presents the serve token printed at
//! start (new each run), and only through the door, which sees the caller as `serve:NAME`: access
//! rules, asking and history apply as for any other program. The client inside is the same
//! `latchkey` binary with `LATCHKEY_URL` and `LATCHKEY_SERVE_TOKEN` set (`serve_client.rs`).

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use latchkey::door::{Arrival, Caller, Door, Purpose, Request as DoorRequest};
use latchkey::model::account;
use latchkey::model::untrusted::for_terminal;
use latchkey::{Error, Latchkey, Result};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use super::completions::account_names;
use super::front::{error_body, error_json, random_secret, status_of, stop_signals};

/// The path below which the endpoint answers: `/v1/token/ACCOUNT`.
pub const TOKEN_PATH: &str = "/v1/token/";

#[derive(Args)]
pub struct ServeArgs {
    /// An account the endpoint may hand out (repeatable): `PROFILE/LABEL`, or `PROFILE`.
    #[arg(long = "account", value_name = "ACCOUNT", required = true, add = account_names())]
    accounts: Vec<String>,
    /// The address to listen on. Anything that can reach it and holds the serve token can take
    /// the listed accounts' tokens: the endpoint is plain HTTP, bind it only where the link is
    /// trusted (a container bridge, a VM's host-only network).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The session's name in history and access rules (`--program serve:NAME`); default the
    /// process id.
    #[arg(long)]
    name: Option<String>,
}

struct Server {
    door: Door,
    /// The accounts as given, and as resolved at start (when they existed then).
    accounts: Vec<String>,
    bearer: String,
    name: String,
}

pub async fn run(engine: Arc<Latchkey>, args: ServeArgs) -> Result<()> {
    let name = args.name.unwrap_or_else(|| std::process::id().to_string());
    if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::InvalidInput(
            "--name must be a word without spaces or control characters".into(),
        ));
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| Error::io(format!("cannot listen on {}", args.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the listening address", e))?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "latchkey serve: warning: listening on {addr}. Anything that can reach this address and holds the serve token can take the tokens of {}. The endpoint is plain HTTP: use it only where the link is trusted.",
            args.accounts.join(", ")
        );
    }
    let server = Arc::new(Server {
        door: Door::new(engine).with_cache(),
        accounts: args.accounts,
        bearer: random_secret(),
        name,
    });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "LATCHKEY_URL=http://{addr}")
            .and_then(|()| writeln!(out, "LATCHKEY_SERVE_TOKEN={}", server.bearer))
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("cannot write to standard output", e))?;
    }
    eprintln!(
        "latchkey serve: serving {} as serve:{} on http://{addr} until interrupted",
        server.accounts.join(", "),
        server.name
    );
    let stop = stop_signals()?;
    accept_loop(server, listener, stop).await;
    eprintln!("latchkey serve: stopped");
    Ok(())
}

async fn accept_loop(server: Arc<Server>, listener: TcpListener, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let server = server.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let server = server.clone();
                            async move { Ok::<_, Infallible>(server.answer(req).await) }
                        });
                        // A client that opens a connection and says nothing is dropped.
                        let conn = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(std::time::Duration::from_secs(30))
                            .serve_connection(TokioIo::new(stream), service);
                        let _ = conn.await;
                    });
                }
                Err(e) => {
                    eprintln!("latchkey serve: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            () = &mut stop => return,
        }
    }
}

impl Server {
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (status, body) = self.respond(&req).await;
        eprintln!(
            "latchkey serve: {} {} {}",
            req.method(),
            for_terminal(req.uri().path()),
            status.as_u16()
        );
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap_or_default()
    }

    async fn respond(&self, req: &Request<Incoming>) -> (StatusCode, Value) {
        let not_found = || {
            (
                StatusCode::NOT_FOUND,
                error_body("not-found", "no such endpoint"),
            )
        };
        let Some(raw) = req.uri().path().strip_prefix(TOKEN_PATH) else {
            return not_found();
        };
        if req.method() != Method::GET || raw.is_empty() {
            return not_found();
        }
        if !self.bearer_matches(req) {
            return (
                StatusCode::UNAUTHORIZED,
                error_body(
                    "unauthorized",
                    "a missing or wrong serve token (Authorization: Bearer LATCHKEY_SERVE_TOKEN)",
                ),
            );
        }
        let Ok(name) = percent_encoding::percent_decode_str(raw).decode_utf8() else {
            return (
                StatusCode::BAD_REQUEST,
                error_body("usage", "the account name is not UTF-8"),
            );
        };
        let min_valid = match min_valid(req.uri().query()) {
            Ok(v) => v,
            Err(message) => return (StatusCode::BAD_REQUEST, error_body("usage", &message)),
        };
        let Some(account) = self.listed(&name) else {
            return (
                StatusCode::FORBIDDEN,
                json!({
                    "error": "refused",
                    "message": format!(
                        "`latchkey serve` does not hand out `{name}`: it serves {} (see its --account)",
                        self.accounts.join(", ")
                    ),
                    "rule": null,
                }),
            );
        };
        let request = DoorRequest {
            account,
            purpose: Purpose::Serve,
            min_valid,
            caller: Caller::remote(Arrival::Serve {
                name: self.name.clone(),
            }),
            proof: None,
        };
        match self.door.hand_out(request).await {
            Ok(handed) => (
                StatusCode::OK,
                json!({
                    "access_token": handed.access_token.as_str(),
                    "token_type": handed.scheme(),
                    "expires_at": handed.expires_at,
                    "account": handed.account,
                    "scope": handed.scopes.join(" "),
                }),
            ),
            Err(e) => (status_of(e.kind()), error_json(&e)),
        }
    }

    fn bearer_matches(&self, req: &Request<Incoming>) -> bool {
        let Some(value) = req.headers().get(header::AUTHORIZATION) else {
            return false;
        };
        let value = value.as_bytes();
        let Some(presented) = value
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
            .map(|_| &value[7..])
        else {
            return false;
        };
        bool::from(presented.ct_eq(self.bearer.as_bytes()))
    }

    /// The account to ask the door for, when `name` is one given with `--account` (as given, or
    /// naming the same account).
    fn listed(&self, name: &str) -> Option<String> {
        if self.accounts.iter().any(|a| a == name) {
            return Some(name.to_string());
        }
        let all = self.door.engine().accounts().ok()?;
        let wanted = account::resolve(&all, name).ok()?.id();
        self.accounts
            .iter()
            .filter_map(|a| account::resolve(&all, a).ok())
            .any(|a| a.id() == wanted)
            .then_some(wanted)
    }
}

/// `min_valid=SECONDS` from the query; 60 without it.
fn min_valid(query: Option<&str>) -> std::result::Result<u32, String> {
    let mut value = 60;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, v) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "min_valid" {
            value = v
                .parse()
                .map_err(|_| "min_valid must be a number of seconds".to_string())?;
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_valid_is_read_from_the_query() {
        assert_eq!(min_valid(None), Ok(60));
        assert_eq!(min_valid(Some("min_valid=300")), Ok(300));
        assert_eq!(min_valid(Some("x=1&min_valid=0")), Ok(0));
        assert!(min_valid(Some("min_valid=-1")).is_err());
    }
}
