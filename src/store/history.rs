//! Who took which token: one JSON line per hand-out in `STATE_DIR/history.jsonl` (mode 0600),
//! rotated once to `history.jsonl.1` past [`MAX_BYTES`]. Never a token: the time, the account,
//! how it was handed out and which program asked.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The size past which the file is rotated (the previous generation is replaced).
pub const MAX_BYTES: u64 = 1 << 20;

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds.
    pub time: i64,
    pub account: String,
    /// `token`, `refresh`, `exec`, `git`, `kube`, `copy` (in the desktop app).
    pub how: String,
    /// `agent` or `direct`.
    pub via: String,
    /// The program that asked: the parent of the `latchkey` process, or the agent's peer when
    /// that is not `latchkey`.
    pub pid: Option<u32>,
    pub exe: Option<String>,
    /// The process connected to the agent's socket (the `latchkey` CLI, usually).
    pub client_pid: Option<u32>,
    /// Where in the desktop app a copy was asked for: `window` or `tray`.
    pub from: Option<String>,
}

/// The history file in `dir`.
pub fn file(dir: &Path) -> PathBuf {
    dir.join("history.jsonl")
}

fn rotated(path: &Path) -> PathBuf {
    path.with_extension("jsonl.1")
}

/// Appends `entry` to the history in `dir`.
pub fn append(dir: &Path, entry: &Entry) -> Result<()> {
    crate::store::private_files::ensure_dir(dir)?;
    let path = file(dir);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= MAX_BYTES) {
        // Two writers may both rotate; the second renames a file of a line or two. Acceptable
        // for a log, and no lock on the hot path.
        let _ = std::fs::rename(&path, rotated(&path));
    }
    let mut line = serde_json::to_vec(entry).unwrap_or_default();
    line.push(b'\n');
    // One write of one short line: O_APPEND keeps concurrent writers' lines whole.
    crate::store::private_files::open_append(&path)
        .and_then(|mut f| f.write_all(&line))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Appends the line of a hand-out made without the agent to the user's history: `pid` is the
/// program that asked (the CLI's parent; the desktop app itself).
pub fn record_direct(account: &str, how: &str, pid: Option<u32>) -> Result<()> {
    record(direct(account, how, pid))
}

/// Appends the line of a copy in the desktop app (this process), asked for `from` its
/// `window` or its `tray`.
pub fn record_app_copy(account: &str, from: &str) -> Result<()> {
    let pid = Some(std::process::id());
    record(Entry {
        from: Some(from.into()),
        ..direct(account, "copy", pid)
    })
}

fn direct(account: &str, how: &str, pid: Option<u32>) -> Entry {
    Entry {
        time: crate::model::tokens::now(),
        account: account.to_string(),
        how: how.into(),
        via: "direct".into(),
        pid,
        exe: pid.and_then(exe_of),
        client_pid: None,
        from: None,
    }
}

fn record(entry: Entry) -> Result<()> {
    append(&crate::store::paths::state_dir()?, &entry)
}

/// The entries in `dir`, oldest first; lines that do not parse are skipped.
pub fn read(dir: &Path) -> Result<Vec<Entry>> {
    let path = file(dir);
    let mut out = Vec::new();
    for p in [rotated(&path), path] {
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("cannot read {}", p.display()), e)),
        };
        out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
    }
    Ok(out)
}

/// A process's executable (`/proc/PID/exe`), when it can be read.
pub fn exe_of(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// A process's parent (`/proc/PID/stat`, the field after the parenthesised name).
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: i64) -> Entry {
        Entry {
            time: n,
            account: "p/a".into(),
            how: "token".into(),
            via: "direct".into(),
            pid: Some(1),
            exe: None,
            client_pid: None,
            from: None,
        }
    }

    #[test]
    fn appends_privately_and_rotates_once() {
        let dir = std::env::temp_dir().join(format!("latchkey-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        append(&dir, &entry(1)).unwrap();
        append(&dir, &entry(2)).unwrap();
        assert_eq!(read(&dir).unwrap(), vec![entry(1), entry(2)]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(file(&dir)).unwrap().mode() & 0o777, 0o600);
        }
        // Past the cap, the file moves aside (once: an older generation is replaced).
        let big = vec![b'x'; MAX_BYTES as usize];
        std::fs::write(file(&dir), [&big[..], b"\n"].concat()).unwrap();
        append(&dir, &entry(3)).unwrap();
        assert_eq!(read(&dir).unwrap(), vec![entry(3)]);
        assert!(rotated(&file(&dir)).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_a_process_parent_and_executable() {
        let me = std::process::id();
        assert_eq!(parent_of(me), Some(std::os::unix::process::parent_id()));
        assert!(exe_of(me).is_some());
    }
}
