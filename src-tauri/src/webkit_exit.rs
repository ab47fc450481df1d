//! Linux: what WebKit leaves running once the window is gone. Its web process ends with the
//! page, but its network process does not: Tauri keeps the web context (and WebKit keeps the
//! process) for the app's lifetime, so that a window built again reuses it (tauri#14626) —
//! 60 MB RSS for a tray icon. Once the web process has gone and no window came back, the app
//! ends the network process itself (it holds nothing of ours: the page has no network access
//! and no storage), and WebKit starts a new one with the next window. Then the heap that the
//! webview freed goes back to the system, and so do the pages of code the window used
//! (WebKit, JavaScriptCore, GTK, this program): read-only file pages, which stay in the page
//! cache and come back on use, at the next window (see [`release_file_pages`]).

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
                // Under WebDriver (tauri-driver sets this), WebKit would end the automation
                // session with the network process: the E2E drives the next window.
                let automated = std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() == Ok("true");
                for pid in children(NETWORK_PROCESS).into_iter().filter(|_| !automated) {
                    // SAFETY: a plain signal to our own child process.
                    unsafe { libc::kill(pid, libc::SIGTERM) };
                }
                trim_heap();
                release_file_pages();
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

/// Unmaps this process's pages of read-only, private file mappings that hold nothing but the
/// file's own bytes (no page of theirs was ever written: `Anonymous: 0`, which excludes the
/// relocated, RELRO parts of libraries) — libraries' code and constants. They stay in the
/// page cache; a later use faults them back in from there. With the window gone they are most
/// of what the app has resident (WebKit and JavaScriptCore alone: ~36 MB), and a tray icon
/// touches few of them again.
fn release_file_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut lines = smaps.lines().peekable();
    while let Some(header) = lines.next() {
        let mut fields = header.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let path = fields.nth(3).unwrap_or("");
        let mut anonymous = None;
        // The mapping's attributes, up to the next mapping's header.
        while let Some(line) = lines.next_if(|l| !is_header(l)) {
            if let Some(kb) = line.strip_prefix("Anonymous:") {
                anonymous = kb.trim().trim_end_matches(" kB").trim().parse::<u64>().ok();
            }
        }
        let clean_file = perms.starts_with('r')
            && !perms.contains('w')
            && perms.ends_with('p')
            && path.starts_with('/')
            && !header.ends_with("(deleted)")
            && anonymous == Some(0);
        if !clean_file {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: the range is one of this process's private, read-only file mappings with no
        // written page: dropping its pages loses nothing, the file gives them back on use.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Whether a line of smaps starts a mapping ("start-end perms offset dev inode path").
fn is_header(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|f| f.contains('-') && f.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::is_header;

    #[test]
    fn tells_mapping_headers_from_their_attributes() {
        assert!(is_header(
            "7f1c2a000000-7f1c2a021000 r--p 00000000 08:01 1234 /usr/lib/libfoo.so"
        ));
        assert!(is_header("7ffd1000-7ffd2000 rw-p 00000000 00:00 0"));
        assert!(!is_header("Anonymous:             0 kB"));
        assert!(!is_header("VmFlags: rd mr mw me"));
    }
}
