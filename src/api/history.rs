//! An account's recent history as a front end lists it: who took its tokens, how and when.
//! The history holds no token; neither does a view of it.

use serde::Serialize;

use crate::store::history::Entry;

/// One hand-out, newest first in the list: what the account's screen shows of its [`Entry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "HistoryEntryDto"))]
pub struct HistoryEntryView {
    /// Unix seconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub time: i64,
    /// What for: `token`, `refresh`, `exec`, `git`, `kube`, `copy`, `proxy`, `serve`.
    pub how: String,
    /// How the request reached the door: `direct`, `agent`, `window`, `tray`, `forwarded`…
    pub via: String,
    /// Where from: `window` or `tray` in the app, the SSH destination, `serve:NAME`.
    pub from: Option<String>,
    /// The program that holds the token.
    pub pid: Option<u32>,
    pub exe: Option<String>,
}

impl From<&Entry> for HistoryEntryView {
    fn from(e: &Entry) -> Self {
        HistoryEntryView {
            time: e.time,
            how: e.how.clone(),
            via: e.via.clone(),
            from: e.from.clone(),
            pid: e.pid,
            exe: e.exe.clone(),
        }
    }
}

/// The entries of exactly `account` (not of its profile's other accounts), newest first, at
/// most `limit`.
pub fn of_account(entries: &[Entry], account: &str, limit: usize) -> Vec<HistoryEntryView> {
    entries
        .iter()
        .rev()
        .filter(|e| e.account == account)
        .take(limit)
        .map(HistoryEntryView::from)
        .collect()
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
    fn a_view_has_no_field_for_a_token() {
        let json =
            serde_json::to_value(HistoryEntryView::from(&entry(1, "p/a", "copy", None))).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["exe", "from", "how", "pid", "time", "via"]);
    }
}
