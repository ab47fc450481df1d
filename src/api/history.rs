//! An account's recent history as a front end lists it: who took its tokens, how and when.
//! The history holds no token; neither does a list of it.

use crate::store::history::Entry;

/// The entries of exactly `account` (not of its profile's other accounts), newest first, at
/// most `limit`.
pub fn of_account(entries: &[Entry], account: &str, limit: usize) -> Vec<Entry> {
    entries
        .iter()
        .rev()
        .filter(|e| e.account == account)
        .take(limit)
        .cloned()
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
}
