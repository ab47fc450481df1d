//! Background refresh: one timer per account, due when the access token's remaining lifetime
//! falls under 60 s plus a tenth of its lifetime. No polling: a timer sleeps until its account
//! is due, and the deadline is recomputed from the wall clock whenever it fires (sleeps are
//! capped, so a machine waking from suspend, where the monotonic timer stood still, catches
//! up within [`MAX_SLEEP`]; a hand-out checks the expiry itself in any case).

use std::sync::Arc;
use std::time::Duration;

use super::server::Agent;
use crate::account::Account;
use crate::engine::CLIENT_LABEL;
use crate::error::ErrorKind;
use crate::tokens::now;

/// What a token handed out keeps at least, when the provider's lifetime allows.
pub const MIN_LEFT: i64 = 60;
const MAX_SLEEP: i64 = 600;
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

/// Keeps the account `id` fresh until it is gone or needs a sign-in.
pub async fn keep_fresh(agent: Arc<Agent>, id: String) {
    let mut failures = 0;
    loop {
        let account = match agent.engine().account(&id) {
            Ok(a) if refreshable(&a) => a,
            _ => return,
        };
        let expires_at = account.expires_at.unwrap_or_default();
        let lifetime = agent
            .cache()
            .lifetime(&id)
            .unwrap_or(expires_at - now())
            .max(0);
        let margin = margin(lifetime);
        let wait = expires_at - margin - now();
        if wait > 0 {
            tokio::time::sleep(Duration::from_secs(wait.min(MAX_SLEEP) as u64)).await;
            continue;
        }
        // Under the account's cross-process lock, re-reading the keychain: a refresh done
        // elsewhere meanwhile is found, not repeated.
        match agent.engine().token(&id, margin).await {
            Ok((account, tokens)) => {
                failures = 0;
                agent.cache().put(&account, &tokens);
                // Never back to back, whatever the provider's clock says.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) if matches!(e.kind(), ErrorKind::NeedsSignIn | ErrorKind::NotFound) => {
                eprintln!("latchkey agent: {e}");
                return;
            }
            Err(e) => {
                failures += 1;
                let wait = backoff(failures);
                eprintln!(
                    "latchkey agent: refreshing `{id}` failed ({e}); trying again in {} s",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
            }
        }
    }
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
