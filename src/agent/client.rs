//! Asking the agent. Every failure to reach it means "no agent": the caller goes to the
//! keychain at once. A connect to a socket nobody listens on fails immediately (ECONNREFUSED),
//! so a dead agent costs no waiting. [`token_blocking`] is the same exchange without an async
//! runtime, for the CLI's fast path (Linux): a `latchkey token` answered by the agent starts
//! no runtime at all.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use zeroize::Zeroizing;

use super::protocol::{Handed, Op, Request, Response, VERSION, relayed};
use super::socket::{check_socket_dir, euid, forwarded_socket, socket_path};
use crate::error::Result;

/// Answers hold a token (a JWT of a few KiB at most).
const MAX_RESPONSE: u64 = 1 << 20;

/// How long a token answer may take: the agent may be refreshing at the provider (30 s) or
/// waiting for the keychain to be unlocked to keep a rotated refresh token (5 min). A wait
/// that long means something is wrong; the keychain path is then tried, under the same
/// cross-process lock.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(330);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Set once this process has asked the agent and got no usable answer (`token`'s fast path):
/// asking again would wait once more on an agent that did not answer.
static ASKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process asked the agent and got no answer to use: the rest of it goes to the keychain.
pub fn asked_without_answer() {
    ASKED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether commands ask the agent: not with `LATCHKEY_AGENT=off`, nor after
/// [`asked_without_answer`].
pub fn enabled() -> bool {
    if ASKED.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    not_turned_off()
}

/// The forwarded agent's socket this process takes its tokens from, if any (see
/// [`forwarded_socket`]), unless `LATCHKEY_AGENT=off`. It is the only source: when it does not
/// answer, [`unreachable`] says so, and no keychain is tried.
pub fn forwarded() -> Option<std::path::PathBuf> {
    forwarded_socket().filter(|_| not_turned_off())
}

/// The error of a forwarded agent that gave no answer.
pub fn unreachable(socket: &Path) -> crate::Error {
    crate::Error::Relayed {
        kind: crate::ErrorKind::Network,
        message: format!(
            "no agent answers on {} (LATCHKEY_AGENT_SOCK, or the socket `latchkey ssh` forwarded): is the ssh session that forwarded it still open, and is its socket yours?",
            socket.display()
        ),
        hint: None,
    }
}

fn not_turned_off() -> bool {
    std::env::var("LATCHKEY_AGENT").map_or(true, |v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "off" | "0" | "no" | "false"
        )
    })
}

/// A token from the agent for `op` (an [`Op::token`]): `None` when no agent answers for
/// `config` (ask the keychain), else its answer, an error relayed with its kind.
pub async fn token(config: &Path, op: Op) -> Option<Result<Handed>> {
    handed(ask(config, op, ANSWER_TIMEOUT).await?)
}

/// [`token`] on the calling thread, with no async runtime (Linux: the peer check reads
/// `SO_PEERCRED` directly).
#[cfg(target_os = "linux")]
pub fn token_blocking(config: &Path, op: Op) -> Option<Result<Handed>> {
    handed(ask_blocking(config, op, ANSWER_TIMEOUT)?)
}

/// A token answer: the token, or the engine's error relayed with its kind.
fn handed(response: Response) -> Option<Result<Handed>> {
    match response {
        Response::Ok(handed) => Some(Ok(handed)),
        Response::Error {
            kind,
            message,
            hint,
        } => Some(Err(relayed(&kind, message, hint))),
        _ => None,
    }
}

/// Asks the agent for a forwarding socket for an ssh session to `destination`: the open
/// connection (the socket lasts while it stays open) and the socket's path. `None` when no
/// agent of this user answers.
pub async fn forward(config: &Path, destination: Option<String>) -> Option<(UnixStream, String)> {
    let (path, line) = prepare(config, Op::Forward { destination })?;
    let exchange = async {
        let mut stream = UnixStream::connect(&path).await.ok()?;
        if stream.peer_cred().ok()?.uid() != euid() {
            return None;
        }
        stream.write_all(&line).await.ok()?;
        let mut answer = Vec::new();
        let mut reader = BufReader::new(&mut stream).take(MAX_RESPONSE);
        reader.read_until(b'\n', &mut answer).await.ok()?;
        match understood(&answer)? {
            Response::Forwarding { socket } => Some(socket),
            _ => None,
        }
        .map(|socket| (stream, socket))
    };
    tokio::time::timeout(PING_TIMEOUT, exchange).await.ok()?
}

/// The pid of the agent answering for `config`, if one does.
pub async fn ping(config: &Path) -> Option<u32> {
    match ask(config, Op::Ping, PING_TIMEOUT).await? {
        Response::Pong { pid, .. } => Some(pid),
        _ => None,
    }
}

/// Whether an agent answers on the socket for another config directory than `config` (it then
/// answers none of this one's requests).
pub async fn serves_another_config(config: &Path) -> bool {
    answer(config, Op::Ping, PING_TIMEOUT)
        .await
        .is_some_and(|a| matches!(serde_json::from_slice(&a), Ok(Response::OtherConfig)))
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
    understood(&answer(config, op, timeout).await?)
}

/// [`ask`]'s answer as the agent wrote it.
async fn answer(config: &Path, op: Op, timeout: Duration) -> Option<Zeroizing<Vec<u8>>> {
    let (path, line) = prepare(config, op)?;
    let exchange = async {
        let mut stream = UnixStream::connect(&path).await.ok()?;
        // Only the user's own agent is trusted with the answer it gives.
        if stream.peer_cred().ok()?.uid() != euid() {
            return None;
        }
        stream.write_all(&line).await.ok()?;
        let mut answer = Zeroizing::new(Vec::new());
        let mut reader = BufReader::new(stream).take(MAX_RESPONSE);
        reader.read_until(b'\n', &mut answer).await.ok()?;
        Some(answer)
    };
    tokio::time::timeout(timeout, exchange).await.ok()?
}

/// [`ask`] with blocking socket calls, each bounded by `timeout`.
#[cfg(target_os = "linux")]
fn ask_blocking(config: &Path, op: Op, timeout: Duration) -> Option<Response> {
    use std::io::{BufRead, Read, Write};
    let (path, line) = prepare(config, op)?;
    let mut stream = std::os::unix::net::UnixStream::connect(&path).ok()?;
    if rustix::net::sockopt::socket_peercred(&stream)
        .ok()?
        .uid
        .as_raw()
        != euid()
    {
        return None;
    }
    stream.set_write_timeout(Some(timeout)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(&line).ok()?;
    let mut answer = Zeroizing::new(Vec::new());
    let mut reader = std::io::BufReader::new(stream).take(MAX_RESPONSE);
    reader.read_until(b'\n', &mut answer).ok()?;
    understood(&answer)
}

/// The socket to ask (a forwarded one when there is one, see [`forwarded_socket`]), once its
/// directory is found to be the user's, and the request line.
fn prepare(config: &Path, op: Op) -> Option<(std::path::PathBuf, Vec<u8>)> {
    let path = forwarded_socket().unwrap_or_else(socket_path);
    check_socket_dir(&path).ok()?;
    let request = Request {
        v: VERSION,
        config: config.to_string_lossy().into_owned(),
        op,
    };
    let mut line = serde_json::to_vec(&request).ok()?;
    line.push(b'\n');
    Some((path, line))
}

/// The agent's answer; `None` when it does not parse or the agent serves another config.
fn understood(answer: &[u8]) -> Option<Response> {
    match serde_json::from_slice::<Response>(answer).ok()? {
        Response::OtherConfig => None,
        response => Some(response),
    }
}
