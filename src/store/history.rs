//! Who took which token: one JSON line per hand-out in `STATE_DIR/history.jsonl` (mode 0600),
//! rotated once to `history.jsonl.1` past [`MAX_BYTES`]. Never a token: the time, the account,
//! how it was handed out, which program asked and what the door decided. Only the door
//! (`crate::door`) writes it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The size past which the file is rotated (the previous generation is replaced).
pub const MAX_BYTES: u64 = 1 << 20;

/// One hand-out, as the file holds it, `latchkey history --json` prints it and the app's
/// account screen lists it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Absent fields are left out of the JSON, hence `optional_fields` in TypeScript.
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "HistoryEntryDto", optional_fields = nullable)
)]
pub struct Entry {
    /// Unix seconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub time: i64,
    pub account: String,
    /// What for: `token`, `refresh`, `exec`, `git`, `kube`, `copy`, `proxy`, `serve`.
    pub how: String,
    /// How the request reached the door: `direct`, `agent`, `window`, `tray`, `forwarded`,
    /// `serve`, `proxy`.
    pub via: String,
    /// The program that holds the token, as the door established it.
    pub pid: Option<u32>,
    pub exe: Option<String>,
    /// The process the door talked to when it is not the program (the `latchkey` CLI).
    pub client_pid: Option<u32>,
    /// Where from: `window` or `tray` in the app, the SSH destination, `serve:NAME`.
    pub from: Option<String>,
    /// What the door decided: `allowed`, `refused`, `by hand`, `asked: …` (absent in lines
    /// written before access rules existed).
    pub decision: Option<String>,
    /// The access rule that decided, if one did.
    pub rule: Option<String>,
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
            decision: None,
            rule: None,
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

    #[test]
    fn an_entry_has_no_field_for_a_token() {
        // Every field set: what a line, `history --json` and the app's list can carry.
        let full = Entry {
            exe: Some("/usr/bin/git".into()),
            client_pid: Some(2),
            from: Some("tray".into()),
            decision: Some("allowed".into()),
            rule: Some("r1".into()),
            ..entry(1)
        };
        let json = serde_json::to_value(&full).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "account",
                "client_pid",
                "decision",
                "exe",
                "from",
                "how",
                "pid",
                "rule",
                "time",
                "via"
            ]
        );
    }
}
