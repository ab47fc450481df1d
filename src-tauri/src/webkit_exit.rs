//! Linux: what WebKit leaves running once the window is gone. Its web process ends with the
//! page, but its network process does not: Tauri keeps the web context (and WebKit keeps the
//! process) for the app's lifetime, so that a window built again reuses it (tauri#14626) —
//! 60 MB RSS for a tray icon. Once the web process has gone and no window came back, the app
//! ends the network process itself (it holds nothing of ours: the page has no network access
//! and no storage), and WebKit starts a new one with the next window. Then the heap that the
//! webview freed goes back to the system.

use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager};

const WEB_PROCESS: &str = "WebKitWebProcess";
const NETWORK_PROCESS: &str = "WebKitNetworkProcess";

/// How long the web process may take to end after its page closed.
const WEB_PROCESS_GRACE: Duration = Duration::from_secs(5);

/// Called when a window is destroyed: ends the network process once no webview is left.
pub fn after_last_webview(app: &AppHandle) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("latchkey-webkit-exit".into())
        .spawn(move || {
            let deadline = Instant::now() + WEB_PROCESS_GRACE;
            while !children(WEB_PROCESS).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            // On the main thread, where windows are built: none is on its way meanwhile.
            let handle = app.clone();
            let _ = app.run_on_main_thread(move || {
                if !handle.webview_windows().is_empty() || !children(WEB_PROCESS).is_empty() {
                    return;
                }
                for pid in children(NETWORK_PROCESS) {
                    // SAFETY: a plain signal to our own child process.
                    unsafe { libc::kill(pid, libc::SIGTERM) };
                }
                trim_heap();
            });
        });
    if let Err(e) = spawned {
        eprintln!("latchkey: cannot watch WebKit's processes: {e}");
    }
}

/// This process's children that run WebKit's program `name`.
fn children(name: &str) -> Vec<libc::pid_t> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // After the command's closing parenthesis: state, then the parent's pid.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            parent == Some(me)
                && std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == name))
        })
        .collect()
}

/// Gives the heap's free pages back to the system (glibc keeps them otherwise).
fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}
