//! What the tray menu lists: each account with its status, and what clicking it does. Pure,
//! so that the menu can be tested without a desktop; `tray.rs` turns it into menu items.

use latchkey::Account;
use latchkey::engine::CLIENT_LABEL;

/// Within this many seconds of expiry the menu counts the minutes down.
pub const COUNTDOWN_FROM: i64 = 10 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    /// Copy a fresh access token (refreshed first when needed).
    Copy,
    /// Open the window on the account's sign-in.
    SignIn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub account: String,
    pub label: String,
    pub click: Click,
}

impl Entry {
    /// The menu item's id: what to do and to which account.
    pub fn id(&self) -> String {
        match self.click {
            Click::Copy => format!("{COPY}{}", self.account),
            Click::SignIn => format!("{SIGN_IN}{}", self.account),
        }
    }
}

pub const COPY: &str = "copy:";
pub const SIGN_IN: &str = "sign-in:";
pub const OPEN: &str = "open";
pub const QUIT: &str = "quit";

/// What a menu item id asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Copy(String),
    SignIn(String),
    Open,
    Quit,
}

pub fn action(id: &str) -> Option<Action> {
    if let Some(account) = id.strip_prefix(COPY) {
        return Some(Action::Copy(account.to_string()));
    }
    if let Some(account) = id.strip_prefix(SIGN_IN) {
        return Some(Action::SignIn(account.to_string()));
    }
    match id {
        OPEN => Some(Action::Open),
        QUIT => Some(Action::Quit),
        _ => None,
    }
}

/// The account's status in words, and whether a copy can work without the user.
fn status(a: &Account, now: i64) -> (String, Click) {
    let renewable = a.has_refresh_token || a.label == CLIENT_LABEL;
    if a.needs_sign_in.is_some() {
        return ("needs sign-in".into(), Click::SignIn);
    }
    let Some(expires_at) = a.expires_at else {
        return ("valid".into(), Click::Copy);
    };
    let left = expires_at - now;
    match left {
        ..=0 if renewable => ("expired, renewed on copy".into(), Click::Copy),
        ..=0 => ("needs sign-in".into(), Click::SignIn),
        l if l <= COUNTDOWN_FROM => {
            let minutes = (l + 59) / 60;
            (format!("expires in {minutes} min"), Click::Copy)
        }
        _ => ("valid".into(), Click::Copy),
    }
}

/// The accounts as the menu lists them, in name order.
pub fn entries(accounts: &[Account], now: i64) -> Vec<Entry> {
    let mut out: Vec<Entry> = accounts
        .iter()
        .map(|a| {
            let (status, click) = status(a, now);
            Entry {
                account: a.id(),
                label: format!("{} — {status}", a.id()),
                click,
            }
        })
        .collect();
    out.sort_by_key(|e| e.account.to_lowercase());
    out
}

/// When a label can next change by the clock alone (a countdown minute, an expiry), if ever.
pub fn next_change(accounts: &[Account], now: i64) -> Option<i64> {
    accounts
        .iter()
        .filter(|a| a.needs_sign_in.is_none())
        .filter_map(|a| a.expires_at)
        .filter(|&t| t > now)
        .map(|t| {
            let left = t - now;
            if left > COUNTDOWN_FROM {
                t - COUNTDOWN_FROM
            } else {
                // The next whole minute before expiry.
                now + ((left - 1) % 60) + 1
            }
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(profile: &str, label: &str, expires_at: Option<i64>, refresh: bool) -> Account {
        Account {
            profile: profile.into(),
            label: label.into(),
            subject: None,
            scopes: vec![],
            expires_at,
            has_refresh_token: refresh,
            needs_sign_in: None,
            signed_in_at: 0,
            default: false,
            dpop_bound: false,
        }
    }

    #[test]
    fn lists_accounts_in_order_with_their_status() {
        let now = 1_000_000;
        let mut gone = account("gitlab", "bob", Some(now + 3600), true);
        gone.needs_sign_in = Some("invalid_grant".into());
        let accounts = vec![
            account("Okta", "alice", Some(now + 3600), true),
            account("github", "me", None, false),
            account("ci", "client", Some(now - 5), false),
            account("short", "x", Some(now + 4 * 60 + 1), true),
            account("old", "y", Some(now - 1), false),
            gone,
        ];
        let got: Vec<(String, Click)> = entries(&accounts, now)
            .into_iter()
            .map(|e| (e.label, e.click))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ci/client — expired, renewed on copy".into(), Click::Copy),
                ("github/me — valid".into(), Click::Copy),
                ("gitlab/bob — needs sign-in".into(), Click::SignIn),
                ("Okta/alice — valid".into(), Click::Copy),
                ("old/y — needs sign-in".into(), Click::SignIn),
                ("short/x — expires in 5 min".into(), Click::Copy),
            ]
        );
    }

    #[test]
    fn item_ids_round_trip_to_their_action() {
        let e = entries(&[account("p", "a/b", None, true)], 0).remove(0);
        assert_eq!(action(&e.id()), Some(Action::Copy("p/a/b".into())));
        let mut signed_out = account("p", "a", None, true);
        signed_out.needs_sign_in = Some("x".into());
        let e = entries(&[signed_out], 0).remove(0);
        assert_eq!(action(&e.id()), Some(Action::SignIn("p/a".into())));
        assert_eq!(action(OPEN), Some(Action::Open));
        assert_eq!(action(QUIT), Some(Action::Quit));
        assert_eq!(action("something else"), None);
    }

    #[test]
    fn wakes_when_a_label_changes_and_never_for_nothing() {
        let now = 1_000_000;
        // An hour left: the countdown starts 10 min before expiry.
        let hour = [account("p", "a", Some(now + 3600), true)];
        assert_eq!(next_change(&hour, now), Some(now + 3600 - COUNTDOWN_FROM));
        // 4 min 1 s left ("5 min"): "4 min" one second later, and so on each minute.
        let short = [account("p", "a", Some(now + 241), true)];
        assert_eq!(next_change(&short, now), Some(now + 1));
        assert_eq!(next_change(&short, now + 1), Some(now + 61));
        assert_eq!(
            entries(&short, now + 1)[0].label,
            "p/a — expires in 4 min",
            "the label did change at the wake-up"
        );
        // Nothing due: expired, no expiry, or needing a sign-in.
        let mut gone = account("p", "b", Some(now + 50), true);
        gone.needs_sign_in = Some("x".into());
        let idle = [
            account("p", "a", None, true),
            account("p", "c", Some(now - 1), true),
            gone,
        ];
        assert_eq!(next_change(&idle, now), None);
    }
}
