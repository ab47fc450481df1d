//! An account's recent history in its details view: who took its tokens, how and when. The
//! history holds no token; neither does what is sent to the window.

use latchkey::store::history::Entry;
use serde::Serialize;
use ts_rs::TS;

use crate::error_dto::{ErrorDto, ErrorKindDto};

/// How many entries the details view shows at most.
pub const SHOWN: usize = 50;

/// One hand-out, newest first in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntryDto {
    /// Unix seconds.
    #[ts(type = "number")]
    pub time: i64,
    /// `token`, `refresh`, `exec`, `git`, `kube`, `copy`.
    pub how: String,
    /// `agent` or `direct`.
    pub via: String,
    /// For copies in the app: `window` or `tray`.
    pub from: Option<String>,
    /// The program that asked.
    pub pid: Option<u32>,
    pub exe: Option<String>,
}

impl From<&Entry> for HistoryEntryDto {
    fn from(e: &Entry) -> Self {
        HistoryEntryDto {
            time: e.time,
            how: e.how.clone(),
            via: e.via.clone(),
            from: e.from.clone(),
            pid: e.pid,
            exe: e.exe.clone(),
        }
    }
}

/// The entries of exactly `account` (not of its profile's other accounts), newest first.
pub fn of_account(entries: &[Entry], account: &str, limit: usize) -> Vec<HistoryEntryDto> {
    entries
        .iter()
        .rev()
        .filter(|e| e.account == account)
        .take(limit)
        .map(HistoryEntryDto::from)
        .collect()
}

#[tauri::command]
pub async fn account_history(account: String) -> Result<Vec<HistoryEntryDto>, ErrorDto> {
    let entries = tauri::async_runtime::spawn_blocking(|| {
        latchkey::store::history::read(&latchkey::store::paths::state_dir()?)
    })
    .await
    .map_err(|e| ErrorDto::new(ErrorKindDto::Other, e.to_string()))??;
    Ok(of_account(&entries, &account, SHOWN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: i64, account: &str, how: &str, from: Option<&str>) -> Entry {
        Entry {
            time,
            account: account.into(),
            how: how.into(),
            via: "direct".into(),
            pid: Some(42),
            exe: Some("/usr/bin/git".into()),
            client_pid: Some(43),
            from: from.map(Into::into),
            decision: None,
            rule: None,
        }
    }

    #[test]
    fn one_account_newest_first_within_the_limit() {
        let entries = vec![
            entry(1, "p/a", "token", None),
            entry(2, "p/ab", "git", None),
            entry(3, "p/a", "copy", Some("tray")),
            entry(4, "q/a", "kube", None),
            entry(5, "p/a", "exec", None),
        ];
        let got = of_account(&entries, "p/a", 2);
        assert_eq!(
            got.iter()
                .map(|e| (e.time, e.how.as_str()))
                .collect::<Vec<_>>(),
            vec![(5, "exec"), (3, "copy")]
        );
        assert_eq!(got[1].from.as_deref(), Some("tray"));
        assert_eq!(got[1].exe.as_deref(), Some("/usr/bin/git"));
        assert!(
            of_account(&entries, "p", 10).is_empty(),
            "a profile is not an account"
        );
    }

    #[test]
    fn what_reaches_the_window_has_no_field_for_a_token() {
        let json =
            serde_json::to_value(HistoryEntryDto::from(&entry(1, "p/a", "copy", None))).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["exe", "from", "how", "pid", "time", "via"]);
    }
}
