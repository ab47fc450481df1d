//! When to refresh in the background (the timers themselves are the server's): one timer per
//! account, due when the access token's remaining lifetime falls under 60 s plus a tenth of its
//! lifetime. No polling: a timer sleeps until its account is due, on a clock that counts
//! suspend (see [`super::wake`]), and the deadline is recomputed from the wall clock whenever it
//! fires; a hand-out checks the expiry itself in any case.

use std::time::Duration;

use crate::engine::CLIENT_LABEL;
use crate::model::account::Account;

/// What a token handed out keeps at least, when the provider's lifetime allows.
pub const MIN_LEFT: i64 = 60;
const MAX_BACKOFF: u64 = 900;

/// Whether the agent can keep `account` fresh without the user.
pub fn refreshable(account: &Account) -> bool {
    account.needs_sign_in.is_none()
        && account.expires_at.is_some()
        && (account.has_refresh_token || account.label == CLIENT_LABEL)
}

/// How long before expiry to refresh a token of `lifetime` seconds: 60 s plus 10 %, but at
/// most half the lifetime (a very short-lived token is not refreshed back to back).
pub fn margin(lifetime: i64) -> i64 {
    (MIN_LEFT + lifetime / 10).min(lifetime / 2).max(0)
}

/// The wait after the `failures`-th failed refresh in a row: 30 s, doubling, at most 15 min.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs((30u64 << failures.saturating_sub(1).min(10)).min(MAX_BACKOFF))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_a_minute_and_a_tenth_within_half_the_lifetime() {
        assert_eq!(margin(3600), 420);
        assert_eq!(margin(300), 90);
        assert_eq!(margin(100), 50);
        assert_eq!(margin(0), 0);
    }

    #[test]
    fn failures_back_off_up_to_a_cap() {
        assert_eq!(backoff(1).as_secs(), 30);
        assert_eq!(backoff(2).as_secs(), 60);
        assert_eq!(backoff(3).as_secs(), 120);
        assert_eq!(backoff(50).as_secs(), MAX_BACKOFF);
    }
}
