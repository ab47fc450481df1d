//! The agent's server: a Unix socket, one request per connection, each connection its own task
//! with a read timeout, so a slow or hostile client delays no one else.

use std::collections::HashMap;
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::UCred;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::cache::Cache;
use super::protocol::{BadRequest, Handed, How, MAX_REQUEST, Op, Request, Response, parse_request};
use super::refresher::{backoff, margin, refreshable};
use super::socket::{euid, lock_path, peer_allowed, prepare_dir};
use crate::Latchkey;
use crate::error::{Error, ErrorKind, Result};
use crate::model::account::{self, Account};
use crate::model::tokens::now;
use crate::store::history::{self, Entry};

/// A client has this long to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Agent {
    engine: Arc<Latchkey>,
    cache: Cache,
    timers: Mutex<HashMap<String, AbortHandle>>,
    history: Option<PathBuf>,
    own_exe: Option<PathBuf>,
    stop: Notify,
    /// Whether an account found needing sign-in in the background is a desktop notification
    /// (the headless agent; the desktop app notifies in its own way).
    notify_sign_in: bool,
}

impl Agent {
    pub fn engine(&self) -> &Latchkey {
        &self.engine
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }
}

/// Serves `socket` until asked to stop (a `stop` request, SIGTERM, SIGINT). Fails when another
/// agent holds the socket's lock; a socket left by a crashed agent is replaced.
pub async fn serve(engine: Latchkey, socket: PathBuf) -> Result<()> {
    harden();
    let signals = stop_signals()?;
    serve_with(Arc::new(engine), socket, signals, true).await
}

/// [`serve`] for a process with a life of its own (the desktop app): until `stop` completes or
/// a `stop` request comes, with no signal handlers (the process keeps its own) and no change
/// to how the process may be debugged. Core dumps stay off ([`no_core_dumps`]) by the caller.
pub async fn serve_until(
    engine: Arc<Latchkey>,
    socket: PathBuf,
    stop: impl Future<Output = ()>,
) -> Result<()> {
    serve_with(engine, socket, stop, false).await
}

async fn serve_with(
    engine: Arc<Latchkey>,
    socket: PathBuf,
    stop: impl Future<Output = ()>,
    notify_sign_in: bool,
) -> Result<()> {
    let dir = socket
        .parent()
        .ok_or_else(|| Error::InvalidInput(format!("no directory in {}", socket.display())))?;
    prepare_dir(dir)?;
    let lock_path = lock_path(&socket);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("cannot open {}", lock_path.display()), e))?;
    // Held for the agent's life, released by the OS when it dies however it dies.
    if lock.try_lock().is_err() {
        return Err(Error::InvalidInput(format!(
            "an agent is already running on {}",
            socket.display()
        )));
    }
    // With the lock ours, no agent listens there: a socket file is a crashed one's.
    match std::fs::remove_file(&socket) {
        Ok(()) => eprintln!("latchkey agent: replaced a stale socket"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("cannot remove {}", socket.display()), e)),
    }
    let listener = UnixListener::bind(&socket)
        .map_err(|e| Error::io(format!("cannot listen on {}", socket.display()), e))?;
    let inode = std::fs::metadata(&socket).map(|m| m.ino()).ok();
    let agent = Arc::new(Agent {
        engine,
        cache: Cache::default(),
        timers: Mutex::new(HashMap::new()),
        history: crate::store::paths::state_dir().ok(),
        own_exe: std::env::current_exe().ok(),
        stop: Notify::new(),
        notify_sign_in,
    });
    eprintln!("latchkey agent: listening on {}", socket.display());
    // The engine's futures are not `Send` (its notice hook is borrowed across awaits): the
    // agent's tasks share one thread, which is plenty for requests of a millisecond.
    let tasks = tokio::task::LocalSet::new();
    let result = tasks.run_until(accept_loop(&agent, &listener, stop)).await;
    // Remove the socket only if it is still ours (not one a newer agent bound after a forced
    // replace).
    if std::fs::metadata(&socket).map(|m| m.ino()).ok() == inode {
        let _ = std::fs::remove_file(&socket);
    }
    drop(lock);
    result
}

/// Completes on SIGTERM or SIGINT (which then no longer end the process by themselves).
fn stop_signals() -> Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| Error::io("cannot handle SIGTERM", e))?;
    let mut int =
        signal(SignalKind::interrupt()).map_err(|e| Error::io("cannot handle SIGINT", e))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

async fn accept_loop(
    agent: &Arc<Agent>,
    listener: &UnixListener,
    stop: impl Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(stop);
    if let Ok(accounts) = agent.engine.accounts() {
        agent.sync_timers(&accounts);
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::task::spawn_local(agent.clone().connection(stream));
                }
                Err(e) => eprintln!("latchkey agent: accept failed: {e}"),
            },
            () = agent.stop.notified() => return Ok(()),
            () = &mut stop => return Ok(()),
        }
    }
}

impl Agent {
    async fn connection(self: Arc<Self>, stream: UnixStream) {
        let Ok(cred) = stream.peer_cred() else {
            return;
        };
        let (mut read, mut write) = stream.into_split();
        let response = if !peer_allowed(cred.uid(), euid()) {
            // Loosened file modes let others connect; they get nothing but this.
            let refusal = Response::Error {
                kind: "usage".into(),
                message: format!(
                    "refused: this agent serves uid {} only, not uid {}",
                    euid(),
                    cred.uid()
                ),
                hint: None,
            };
            let _ = tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&refusal.to_line())).await;
            let _ = write.shutdown().await;
            // Read and drop what the stranger sent (bounded, briefly): closing with unread
            // data resets the connection, and the refusal would be lost to the client.
            let mut sink = [0u8; 1024];
            let mut left = MAX_REQUEST;
            let drain = async {
                while left > 0 {
                    match read.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            };
            let _ = tokio::time::timeout(READ_TIMEOUT, drain).await;
            return;
        } else {
            let mut line = Vec::new();
            let mut reader = BufReader::new(read).take(MAX_REQUEST as u64 + 1);
            let read = reader.read_until(b'\n', &mut line);
            match tokio::time::timeout(READ_TIMEOUT, read).await {
                Err(_) => Response::bad_request(&BadRequest::Slow),
                Ok(Err(_)) => return,
                Ok(Ok(_)) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    match parse_request(&line) {
                        Ok(request) => self.answer(request, &cred).await,
                        Err(e) => Response::bad_request(&e),
                    }
                }
            }
        };
        let line = response.to_line();
        let _ = tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&line)).await;
    }

    async fn answer(self: &Arc<Self>, request: Request, cred: &UCred) -> Response {
        if std::path::Path::new(&request.config) != self.engine.config().dir() {
            return Response::OtherConfig;
        }
        let (account, min_valid, how) = match request.op {
            Op::Ping => {
                return Response::Pong {
                    pid: std::process::id(),
                    version: env!("CARGO_PKG_VERSION").into(),
                };
            }
            Op::Stop => {
                self.stop.notify_one();
                return Response::Stopping;
            }
            Op::Token {
                account,
                min_valid,
                how,
            } => (account, Some(min_valid), how),
            Op::Refresh { account } => (account, None, How::Refresh),
        };
        match self.hand_out(&account, min_valid, how).await {
            Ok(handed) => {
                self.record(&handed.account, how, cred);
                Response::Ok(handed)
            }
            Err(e) => Response::error(&e),
        }
    }

    /// A token of `name`: from memory when the config still has the account with the same
    /// token and it stays valid long enough, else from the engine (keychain, refresh).
    async fn hand_out(
        self: &Arc<Self>,
        name: &str,
        min_valid: Option<u32>,
        how: How,
    ) -> Result<Handed> {
        // The config is read on every answer: an account removed or signed out by another
        // process is never served.
        let accounts = self.engine.accounts()?;
        self.cache.retain(&accounts);
        self.sync_timers(&accounts);
        if let (Some(min_valid), Ok(account)) = (min_valid, account::resolve(&accounts, name))
            && account.needs_sign_in.is_none()
            && !(how.avoids_rejected() && self.rejected_mark(account))
            && let Some(handed) = self.cache.fresh(account, i64::from(min_valid))
        {
            return Ok(handed);
        }
        let (account, tokens) = match min_valid {
            None => self.engine.refresh(name).await?,
            Some(m) if how.avoids_rejected() => {
                self.engine.token_not_rejected(name, i64::from(m)).await?
            }
            Some(m) => self.engine.token(name, i64::from(m)).await?,
        };
        self.cache.put(&account, &tokens);
        if let Ok(accounts) = self.engine.accounts() {
            self.sync_timers(&accounts);
        }
        Ok(Handed::new(&account, &tokens))
    }

    /// Whether a server reported the account's token rejected (see `reject_token`): then the
    /// engine decides, not the cache.
    fn rejected_mark(&self, account: &Account) -> bool {
        self.engine
            .config()
            .account_file("rejected", &account.profile, &account.label, "sha256")
            .exists()
    }

    /// One timer per account that can be kept fresh; timers of accounts gone are stopped.
    fn sync_timers(self: &Arc<Self>, accounts: &[Account]) {
        let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        timers.retain(|id, timer| {
            let keep = !timer.is_finished() && accounts.iter().any(|a| a.id() == *id);
            if !keep {
                timer.abort();
            }
            keep
        });
        for account in accounts.iter().filter(|a| refreshable(a)) {
            let id = account.id();
            if let std::collections::hash_map::Entry::Vacant(slot) = timers.entry(id.clone()) {
                let task = tokio::task::spawn_local(keep_fresh(self.clone(), id));
                slot.insert(task.abort_handle());
            }
        }
    }

    /// The history line of a hand-out to the peer `cred`: the program that asked is the
    /// peer, or its parent when the peer is the `latchkey` CLI.
    fn record(&self, account: &str, how: How, cred: &UCred) {
        let Some(dir) = &self.history else {
            return;
        };
        let peer = cred.pid().and_then(|p| u32::try_from(p).ok());
        let peer_exe = peer.and_then(history::exe_of);
        let is_cli = peer_exe
            .as_deref()
            .is_some_and(|exe| self.is_cli(Path::new(exe)));
        let (pid, exe) = match peer {
            Some(p) if is_cli => {
                let parent = history::parent_of(p);
                (parent, parent.and_then(history::exe_of))
            }
            _ => (peer, peer_exe),
        };
        let entry = Entry {
            time: now(),
            account: account.to_string(),
            how: how.as_str().into(),
            via: "agent".into(),
            pid,
            exe,
            client_pid: peer,
            from: None,
        };
        if let Err(e) = history::append(dir, &entry) {
            eprintln!("latchkey agent: {e}");
        }
    }

    /// Whether `exe` is the `latchkey` CLI (this agent's own program, or, when the desktop app
    /// serves, a program of that name): then the program that asked is its parent.
    fn is_cli(&self, exe: &Path) -> bool {
        self.own_exe.as_deref() == Some(exe)
            || exe
                .file_name()
                .is_some_and(|n| n == crate::api::integrations::CLI_FILE)
    }
}

/// No core dumps of this process: an agent's memory holds tokens.
pub fn no_core_dumps() {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct passed; failure leaves the limit as it was.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) };
}

/// No core dumps of the agent (its memory holds tokens), and no ptrace by the user's other
/// processes.
fn harden() {
    no_core_dumps();
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE takes an integer argument and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0)
    };
}

/// Keeps the account `id` fresh until it is gone or needs a sign-in.
async fn keep_fresh(agent: Arc<Agent>, id: String) {
    let mut failures = 0;
    loop {
        let account = match agent.engine().account(&id) {
            Ok(a) if refreshable(&a) => a,
            _ => return,
        };
        let expires_at = account.expires_at.unwrap_or_default();
        let lifetime = agent
            .cache()
            .lifetime(&id)
            .unwrap_or(expires_at - now())
            .max(0);
        let margin = margin(lifetime);
        let wait = expires_at - margin - now();
        if wait > 0 {
            // On the boot-time clock: a deadline passed in suspend fires on waking.
            super::wake::sleep(Duration::from_secs(wait as u64)).await;
            continue;
        }
        // Under the account's cross-process lock, re-reading the keychain: a refresh done
        // elsewhere meanwhile is found, not repeated.
        match agent.engine().token(&id, margin).await {
            Ok((account, tokens)) => {
                failures = 0;
                agent.cache().put(&account, &tokens);
                // Never back to back, whatever the provider's clock says.
                super::wake::sleep(Duration::from_secs(1)).await;
            }
            Err(e) if matches!(e.kind(), ErrorKind::NeedsSignIn | ErrorKind::NotFound) => {
                eprintln!("latchkey agent: {e}");
                if e.kind() == ErrorKind::NeedsSignIn && agent.notify_sign_in {
                    super::notify::needs_sign_in(&id, &account.profile);
                }
                return;
            }
            Err(e) => {
                failures += 1;
                let wait = backoff(failures);
                eprintln!(
                    "latchkey agent: refreshing `{id}` failed ({e}); trying again in {} s",
                    wait.as_secs()
                );
                super::wake::sleep(wait).await;
            }
        }
    }
}
