//! The app as the agent: while the window runs, the app serves the same socket as
//! `latchkey agent`, so the CLI is answered from the app's memory. Not when a headless agent
//! already serves it (that one keeps the socket), and not with `LATCHKEY_AGENT=off`.
//!
//! The engine's futures are not `Send`, so the agent runs on a thread of its own with a
//! current-thread runtime (the server keeps its tasks on one thread), as `latchkey agent run`
//! does in its process.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use latchkey::Latchkey;
use latchkey::agent::{client, server, socket_path};
use tokio::sync::Notify;

/// How long quitting waits for the agent to close its socket.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The running agent thread (Tauri-managed state).
pub struct AppAgent {
    stop: Arc<Notify>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl AppAgent {
    /// Starts serving in the background. Failing to serve (another agent runs) is reported on
    /// stderr and leaves the app as it is: the CLI then asks that agent or the keychain.
    pub fn start(engine: Arc<Latchkey>) -> Option<AppAgent> {
        if !client::enabled() {
            return None;
        }
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("latchkey-agent".into())
            .spawn(move || serve(engine, stopped))
            .map_err(|e| eprintln!("latchkey: cannot start the agent thread: {e}"))
            .ok()?;
        Some(AppAgent {
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Stops serving and waits (briefly) until the socket is removed.
    pub fn stop(&self) {
        // A permit is kept if the server is not waiting yet: it stops as soon as it starts.
        self.stop.notify_one();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(thread) = thread else {
            return;
        };
        let started = Instant::now();
        while !thread.is_finished() && started.elapsed() < STOP_WAIT {
            std::thread::sleep(Duration::from_millis(10));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

fn serve(engine: Arc<Latchkey>, stop: Arc<Notify>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("latchkey: cannot start the agent: {e}");
            return;
        }
    };
    runtime.block_on(async {
        let config = engine.config().dir().to_path_buf();
        if let Some(pid) = client::ping(&config).await {
            eprintln!("latchkey: the agent (pid {pid}) serves the CLI; the app leaves it to it");
            return;
        }
        server::no_core_dumps();
        if let Err(e) = server::serve_until(engine, socket_path(), stop.notified(), None).await {
            eprintln!("latchkey: not serving the CLI as its agent: {e}");
        }
    });
}
