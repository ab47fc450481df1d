//! The app as the agent: while the window runs, the app serves the same socket as
//! `latchkey agent`, so the CLI is answered from the app's memory. Not when a headless agent
//! already serves it (that one keeps the socket), and not with `LATCHKEY_AGENT=off`.
//! The server is one more task on the app's async runtime: the engine's futures are `Send`.
//! When an access rule says ask, the question goes to the window ([`AppAsker`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use latchkey::Latchkey;
use latchkey::agent::{client, server, socket_path};
use tokio::sync::Notify;

use crate::asking::AppAsker;

/// How long quitting waits for the agent to close its socket.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The running agent task (Tauri-managed state).
pub struct AppAgent {
    stop: Arc<Notify>,
    done: Arc<AtomicBool>,
}

impl AppAgent {
    /// Starts serving in the background. Failing to serve (another agent runs) is reported on
    /// stderr and leaves the app as it is: the CLI then asks that agent or the keychain.
    pub fn start(engine: Arc<Latchkey>, asker: Arc<AppAsker>) -> Option<AppAgent> {
        if !client::enabled() {
            return None;
        }
        let stop = Arc::new(Notify::new());
        let done = Arc::new(AtomicBool::new(false));
        let (stopped, finished) = (stop.clone(), done.clone());
        tauri::async_runtime::spawn(async move {
            serve(engine, stopped, asker).await;
            finished.store(true, Ordering::Release);
        });
        Some(AppAgent { stop, done })
    }

    /// Stops serving and waits (briefly) until the socket is removed. Called as the app exits,
    /// on its main thread, while the runtime's workers go on running the task.
    pub fn stop(&self) {
        // A permit is kept if the server is not waiting yet: it stops as soon as it starts.
        self.stop.notify_one();
        let started = Instant::now();
        while !self.done.load(Ordering::Acquire) && started.elapsed() < STOP_WAIT {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

async fn serve(engine: Arc<Latchkey>, stop: Arc<Notify>, asker: Arc<AppAsker>) {
    let config = engine.config().dir().to_path_buf();
    if let Some(pid) = client::ping(&config).await {
        eprintln!("latchkey: the agent (pid {pid}) serves the CLI; the app leaves it to it");
        return;
    }
    server::no_core_dumps();
    if let Err(e) = server::serve_until(engine, socket_path(), stop.notified(), Some(asker)).await {
        eprintln!("latchkey: not serving the CLI as its agent: {e}");
    }
}
