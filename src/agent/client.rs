//! Asking the agent. Every failure to reach it means "no agent": the caller goes to the
//! keychain at once. A connect to a socket nobody listens on fails immediately (ECONNREFUSED),
//! so a dead agent costs no waiting.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use zeroize::Zeroizing;

use super::protocol::{Handed, How, Op, Request, Response, VERSION, relayed};
use super::socket::{check_owned, euid, socket_path};
use crate::error::Result;

/// Answers hold a token (a JWT of a few KiB at most).
const MAX_RESPONSE: u64 = 1 << 20;

/// How long a token answer may take: the agent may be refreshing at the provider (30 s) or
/// waiting for the keychain to be unlocked to keep a rotated refresh token (5 min). A wait
/// that long means something is wrong; the keychain path is then tried, under the same
/// cross-process lock.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(330);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether commands ask the agent: not with `LATCHKEY_AGENT=off`.
pub fn enabled() -> bool {
    std::env::var("LATCHKEY_AGENT").map_or(true, |v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "off" | "0" | "no" | "false"
        )
    })
}

/// A token from the agent: `None` when no agent answers for `config` (ask the keychain),
/// else its answer, an error relayed with its kind.
pub async fn token(
    config: &Path,
    account: &str,
    min_valid: u32,
    how: How,
) -> Option<Result<Handed>> {
    let op = match how {
        How::Refresh => Op::Refresh {
            account: account.to_string(),
        },
        _ => Op::Token {
            account: account.to_string(),
            min_valid,
            how,
        },
    };
    match ask(config, op, ANSWER_TIMEOUT).await? {
        Response::Ok(handed) => Some(Ok(handed)),
        Response::Error {
            kind,
            message,
            hint,
        } => Some(Err(relayed(&kind, message, hint))),
        _ => None,
    }
}

/// The pid of the agent answering for `config`, if one does.
pub async fn ping(config: &Path) -> Option<u32> {
    match ask(config, Op::Ping, PING_TIMEOUT).await? {
        Response::Pong { pid, .. } => Some(pid),
        _ => None,
    }
}

/// Asks the agent to exit; whether one was there to ask.
pub async fn stop(config: &Path) -> bool {
    matches!(
        ask(config, Op::Stop, PING_TIMEOUT).await,
        Some(Response::Stopping)
    )
}

/// One request and its answer; `None` on any failure to talk to the user's own agent.
pub async fn ask(config: &Path, op: Op, timeout: Duration) -> Option<Response> {
    let path = socket_path();
    check_owned(path.parent()?, true).ok()?;
    let request = Request {
        v: VERSION,
        config: config.to_string_lossy().into_owned(),
        op,
    };
    let exchange = async {
        let mut stream = UnixStream::connect(&path).await.ok()?;
        // Only the user's own agent is trusted with the answer it gives.
        if stream.peer_cred().ok()?.uid() != euid() {
            return None;
        }
        let mut line = serde_json::to_vec(&request).ok()?;
        line.push(b'\n');
        stream.write_all(&line).await.ok()?;
        let mut answer = Zeroizing::new(Vec::new());
        let mut reader = BufReader::new(stream).take(MAX_RESPONSE);
        reader.read_until(b'\n', &mut answer).await.ok()?;
        serde_json::from_slice::<Response>(&answer).ok()
    };
    match tokio::time::timeout(timeout, exchange).await.ok()? {
        Some(Response::OtherConfig) | None => None,
        Some(response) => Some(response),
    }
}
