//! The agent's server: a Unix socket, one request per connection, each connection its own task
//! with a read timeout, so a slow or hostile client delays no one else.

use std::collections::HashMap;
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::UCred;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::protocol::{BadRequest, How, MAX_REQUEST, Op, Request, Response, parse_request};
use super::refresher::{backoff, margin, refreshable};
use super::socket::{euid, lock_path, peer_allowed, prepare_dir};
use crate::Latchkey;
use crate::door::cache::Cache;
use crate::door::{Asker, Caller, Door};
use crate::error::{Error, ErrorKind, Result};
use crate::model::account::Account;
use crate::model::tokens::now;

/// A client has this long to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Agent {
    door: Door,
    timers: Mutex<HashMap<String, AbortHandle>>,
    /// The `latchkey` CLI's executables: a peer running one of them asks for its parent.
    cli_exes: Vec<PathBuf>,
    stop: Notify,
    /// Whether an account found needing sign-in in the background is a desktop notification
    /// (the headless agent; the desktop app notifies in its own way).
    notify_sign_in: bool,
    /// The socket's directory: forwarding sockets are made here.
    dir: PathBuf,
    /// Forwarding sockets open now (removed when they close or the agent stops).
    forwards: Mutex<Vec<PathBuf>>,
}

/// Which of the agent's sockets a connection came in on.
#[derive(Debug, Clone)]
enum Listener {
    /// The agent's own socket, for programs of this machine.
    Own,
    /// A forwarding socket: every request on it arrived over SSH (`latchkey ssh`'s, named after
    /// its destination, or the standing `forward.sock` for a plain `ssh -R`).
    Forwarded(Option<String>),
}

/// The standing forwarding socket beside the agent's own, for `ssh -R` lines of the user's own.
pub fn forward_socket_path(socket: &std::path::Path) -> PathBuf {
    socket.with_file_name("forward.sock")
}

impl Agent {
    pub fn engine(&self) -> &Latchkey {
        self.door.engine()
    }

    pub fn cache(&self) -> &Cache {
        self.door.cache().expect("the agent's door keeps a cache")
    }
}

/// Serves `socket` until asked to stop (a `stop` request, SIGTERM, SIGINT). Fails when another
/// agent holds the socket's lock; a socket left by a crashed agent is replaced.
pub async fn serve(
    engine: Arc<Latchkey>,
    socket: PathBuf,
    asker: Option<Arc<dyn Asker>>,
) -> Result<()> {
    harden();
    let signals = stop_signals()?;
    serve_with(engine, socket, signals, true, asker).await
}

/// [`serve`] for a process with a life of its own (the desktop app): until `stop` completes or
/// a `stop` request comes, with no signal handlers (the process keeps its own) and no change
/// to how the process may be debugged. Core dumps stay off ([`no_core_dumps`]) by the caller.
pub async fn serve_until(
    engine: Arc<Latchkey>,
    socket: PathBuf,
    stop: impl Future<Output = ()>,
    asker: Option<Arc<dyn Asker>>,
) -> Result<()> {
    serve_with(engine, socket, stop, false, asker).await
}

async fn serve_with(
    engine: Arc<Latchkey>,
    socket: PathBuf,
    stop: impl Future<Output = ()>,
    notify_sign_in: bool,
    asker: Option<Arc<dyn Asker>>,
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
    let forward_path = forward_socket_path(&socket);
    let _ = std::fs::remove_file(&forward_path);
    let forward_listener = UnixListener::bind(&forward_path)
        .map_err(|e| Error::io(format!("cannot listen on {}", forward_path.display()), e))?;
    let mut door = Door::new(engine).with_cache();
    if let Some(asker) = asker {
        door = door.with_asker(asker);
    }
    let agent = Arc::new(Agent {
        door,
        timers: Mutex::new(HashMap::new()),
        cli_exes: cli_executables(),
        stop: Notify::new(),
        notify_sign_in,
        dir: dir.to_path_buf(),
        forwards: Mutex::new(vec![forward_path]),
    });
    eprintln!("latchkey agent: listening on {}", socket.display());
    let result = accept_loop(&agent, &listener, &forward_listener, stop).await;
    for path in agent
        .forwards
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
    {
        let _ = std::fs::remove_file(path);
    }
    // Remove the socket only if it is still ours (not one a newer agent bound after a forced
    // replace).
    if std::fs::metadata(&socket).map(|m| m.ino()).ok() == inode {
        let _ = std::fs::remove_file(&socket);
    }
    drop(lock);
    result
}

/// Completes on SIGTERM or SIGINT (which then no longer end the process by themselves): for
/// the agent and the CLI's other servers (`serve`, `proxy`).
pub fn stop_signals() -> Result<impl Future<Output = ()>> {
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
    forward_listener: &UnixListener,
    stop: impl Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(stop);
    // Kept for the loop's life: dropping the watcher ends the watch. Before the first read, so
    // that an account signed in between is not missed.
    let _watch = watch_config(agent);
    if let Ok(accounts) = agent.engine().accounts() {
        agent.sync_timers(&accounts);
    }
    // At most this many connections at once: beyond, accepting waits for one to end (each is
    // bounded by its timeouts), so a flood costs memory and descriptors only up to the cap.
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut failures = AcceptFailures::default();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = agent.stop.notified() => return Ok(()),
            () = &mut stop => return Ok(()),
        };
        let Ok(slot) = slot else { return Ok(()) };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted.map(|(s, _)| (s, Listener::Own)),
            accepted = forward_listener.accept() => {
                accepted.map(|(s, _)| (s, Listener::Forwarded(None)))
            }
            () = agent.stop.notified() => return Ok(()),
            () = &mut stop => return Ok(()),
        };
        {
            match accepted {
                Ok((stream, on)) => {
                    failures.reset();
                    let agent = agent.clone();
                    tokio::spawn(async move {
                        agent.connection(stream, on).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    // Out of descriptors (EMFILE) and the like: retrying at once would spin.
                    // Wait, longer each time, and say so once per streak, not per attempt.
                    let wait = failures.failed(&e);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Watches the config directory: an account signed in, out or refreshed by another process
/// (the CLI, the app) gets its timer, or loses it, as it happens, not at the next request.
/// Without a watch (no inotify), timers still follow every request.
fn watch_config(agent: &Arc<Agent>) -> Option<notify::RecommendedWatcher> {
    let (watcher, mut changes) = super::watch::config_changes(agent.engine().config())?;
    let agent = agent.clone();
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            // A write is several events (create, write, rename): one sync for the burst.
            tokio::time::sleep(Duration::from_millis(50)).await;
            while changes.try_recv().is_ok() {}
            if let Ok(accounts) = agent.engine().accounts() {
                agent.cache().retain(&accounts);
                agent.sync_timers(&accounts);
            }
        }
    });
    Some(watcher)
}

/// Connections served at once on one forwarding session's socket.
const FORWARDED_CONNECTIONS: usize = 4;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 64;

/// A streak of failed accepts: the back-off before the next, and a log line only when the
/// streak starts and then at most once a minute.
#[derive(Default)]
struct AcceptFailures {
    streak: u32,
    logged: Option<std::time::Instant>,
    unlogged: u32,
}

impl AcceptFailures {
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        self.streak += 1;
        let quiet = self
            .logged
            .is_some_and(|at| at.elapsed() < Duration::from_secs(60));
        if quiet {
            self.unlogged += 1;
        } else {
            let more = match self.unlogged {
                0 => String::new(),
                n => format!(" ({n} more since the last report)"),
            };
            eprintln!("latchkey agent: accept failed: {e}{more}; backing off");
            self.logged = Some(std::time::Instant::now());
            self.unlogged = 0;
        }
        // 10 ms doubling up to 1 s.
        Duration::from_millis(10u64 << self.streak.min(7)).min(Duration::from_secs(1))
    }

    fn reset(&mut self) {
        self.streak = 0;
    }
}

impl Agent {
    /// [`Agent::connection`] as a boxed `Send` future: a forwarding session spawns
    /// connections from within a connection, and rustc cannot see through that cycle that the
    /// future is `Send` unless one link of it is named.
    fn boxed_connection(
        self: Arc<Self>,
        stream: UnixStream,
        on: Listener,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.connection(stream, on))
    }

    async fn connection(self: Arc<Self>, stream: UnixStream, on: Listener) {
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
                        Ok(Request {
                            op: Op::Forward { destination },
                            config,
                            ..
                        }) if matches!(on, Listener::Own) => {
                            if std::path::Path::new(&config) != self.engine().config().dir() {
                                Response::OtherConfig
                            } else {
                                let read = reader.into_inner().into_inner();
                                return self.forward(destination, read, write).await;
                            }
                        }
                        Ok(request) => self.answer(request, &cred, &on).await,
                        Err(e) => Response::bad_request(&e),
                    }
                }
            }
        };
        let line = response.to_line();
        let _ = tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&line)).await;
        if matches!(response, Response::Stopping) {
            self.stop.notify_one();
        }
    }

    /// A forwarding socket for one ssh session, served until the client that asked for it
    /// closes its connection (`latchkey ssh` ends). When the agent stops, its tasks end with it
    /// and [`serve_with`] removes the socket (no wait on `stop` here: that notification is the
    /// accept loop's).
    async fn forward(
        self: Arc<Self>,
        destination: Option<String>,
        mut read: tokio::net::unix::OwnedReadHalf,
        mut write: tokio::net::unix::OwnedWriteHalf,
    ) {
        let path = self
            .dir
            .join(format!("forward-{:016x}.sock", rand::random::<u64>()));
        let listener = match UnixListener::bind(&path) {
            Ok(l) => l,
            Err(e) => {
                let e = Error::io(format!("cannot listen on {}", path.display()), e);
                let _ = write.write_all(&Response::error(&e).to_line()).await;
                return;
            }
        };
        self.forwards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.clone());
        let answer = Response::Forwarding {
            socket: path.to_string_lossy().into_owned(),
        };
        if tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&answer.to_line()))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            let mut sink = [0u8; 64];
            // A remote machine's administrator can open connections at will: a few at a time
            // per session, so a flood neither exhausts the agent nor queues a pile of questions.
            let slots = Arc::new(tokio::sync::Semaphore::new(FORWARDED_CONNECTIONS));
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        };
                        let Ok(slot) = slots.clone().try_acquire_owned() else {
                            drop(stream);
                            continue;
                        };
                        let agent = self.clone();
                        let on = Listener::Forwarded(destination.clone());
                        tokio::spawn(async move {
                            agent.boxed_connection(stream, on).await;
                            drop(slot);
                        });
                    }
                    n = read.read(&mut sink) => if !matches!(n, Ok(n) if n > 0) { break },
                }
            }
        }
        drop(listener);
        let _ = std::fs::remove_file(&path);
        self.forwards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p != &path);
    }

    async fn answer(self: &Arc<Self>, request: Request, cred: &UCred, on: &Listener) -> Response {
        // A forwarded request comes from another machine: its config path means nothing here.
        if matches!(on, Listener::Own)
            && std::path::Path::new(&request.config) != self.engine().config().dir()
        {
            return Response::OtherConfig;
        }
        let forwarded = matches!(on, Listener::Forwarded(_));
        if forwarded && matches!(request.op, Op::Stop | Op::Forward { .. }) {
            return Response::bad_request(&BadRequest::NotForwarded);
        }
        let (account, min_valid, how, program, proof) = match request.op {
            Op::Ping => {
                return Response::Pong {
                    pid: std::process::id(),
                    version: env!("CARGO_PKG_VERSION").into(),
                };
            }
            // The stop itself comes once the answer is written (see `connection`): the accept
            // loop may run on another thread (the app's runtime has several), and the `agent`
            // command's process ends with it, so the client must have its answer first.
            Op::Stop => return Response::Stopping,
            Op::Token {
                account,
                min_valid,
                how,
                program,
                proof,
            } => (account, min_valid, how, program, proof),
            Op::Refresh { account } => (account, 0, How::Refresh, None, None),
            Op::Forward { .. } => return Response::bad_request(&BadRequest::NotForwarded),
        };
        // A copy is a click in the app, never a request over the socket.
        if how == How::Copy {
            return Response::bad_request(&BadRequest::NotOverSocket);
        }
        let peer = cred.pid().and_then(|p| u32::try_from(p).ok());
        let caller = match on {
            // The peer is the local `ssh` client: rules name it (`--program ssh`).
            Listener::Forwarded(destination) => Caller::forwarded(peer, destination.clone()),
            Listener::Own => Caller::of_peer(
                peer,
                &self.cli_exes,
                how.through_shell(),
                program.as_deref().filter(|_| how == How::Exec),
            ),
        };
        let request = crate::door::Request {
            account,
            purpose: how,
            min_valid,
            caller,
            proof,
        };
        let answer = self.door.hand_out(request).await;
        if let Ok(accounts) = self.engine().accounts() {
            self.sync_timers(&accounts);
        }
        match answer {
            Ok(handed) => Response::Ok(handed),
            // A mistyped name gets its "did you mean" here, where the names are known: the
            // hint crosses the socket. Not for a remote caller: it would learn the names.
            Err(e) if matches!(on, Listener::Own) => {
                Response::error(&crate::api::with_suggestion(self.engine(), e))
            }
            Err(e) => Response::error(&e),
        }
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
                let task = tokio::spawn(keep_fresh(self.clone(), id));
                slot.insert(task.abort_handle());
            }
        }
    }
}

/// The `latchkey` CLI as a peer may be: this program, or `latchkey` beside it (the desktop
/// app's package installs both in one directory). Compared by path: a program merely named
/// `latchkey` elsewhere is a program like any other.
fn cli_executables() -> Vec<PathBuf> {
    let Ok(me) = std::env::current_exe() else {
        return Vec::new();
    };
    let sibling = me.with_file_name(crate::door::caller::CLI_FILE);
    let mut out = vec![me];
    if sibling.is_file() && !out.contains(&sibling) {
        out.push(sibling);
    }
    out
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
