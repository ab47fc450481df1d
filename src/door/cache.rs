//! The access tokens the agent holds in memory, wiped when dropped. Only what a hand-out needs
//! (no refresh token: that stays in the keychain and is re-read under the account lock before
//! it is spent). An entry is trusted only while the account's metadata names the same expiry,
//! so a refresh, sign-in or logout done by another process is seen at the next answer.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use super::purpose::Handed;
use crate::model::account::Account;
use crate::model::secret::KeyPem;
use crate::model::tokens::{TokenSet, now};

struct Cached {
    access_token: Zeroizing<String>,
    expires_at: i64,
    scopes: Vec<String>,
    /// The longest lifetime seen for the account's tokens (seconds from when the agent got one
    /// to its expiry): what the refresh margin is a tenth of.
    lifetime: i64,
    /// The DPoP key the token is bound to, for the proofs of requests the door answers.
    dpop_key: Option<KeyPem>,
}

#[derive(Default)]
pub struct Cache(Mutex<HashMap<String, Cached>>);

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        // A panic elsewhere while holding the lock leaves a consistent map (single inserts).
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached token of `account` when it is the one the account's metadata describes and
    /// stays valid for more than `min_valid` seconds.
    pub fn fresh(&self, account: &Account, min_valid: i64) -> Option<(Handed, Option<KeyPem>)> {
        let map = self.lock();
        let entry = map.get(&account.id())?;
        if account.expires_at != Some(entry.expires_at) || entry.expires_at - now() <= min_valid {
            return None;
        }
        let handed = Handed {
            account: account.id(),
            access_token: entry.access_token.clone(),
            expires_at: Some(entry.expires_at),
            scopes: entry.scopes.clone(),
            token_type: None,
            dpop_proof: None,
        };
        Some((handed, entry.dpop_key.clone()))
    }

    /// Keeps the tokens just handed out or refreshed. A token without a known expiry is not
    /// kept: nothing would tell when another process replaced it.
    pub fn put(&self, account: &Account, tokens: &TokenSet) {
        let mut map = self.lock();
        let id = account.id();
        let Some(expires_at) = tokens.expires_at else {
            map.remove(&id);
            return;
        };
        let lifetime = (expires_at - now()).max(map.get(&id).map_or(0, |c| c.lifetime));
        map.insert(
            id,
            Cached {
                access_token: Zeroizing::new(tokens.access_token.secret().clone()),
                expires_at,
                scopes: tokens.scopes.clone(),
                lifetime,
                // Only a bound token needs a proof of it.
                dpop_key: tokens.dpop_key.clone().filter(|_| tokens.dpop_bound),
            },
        );
    }

    /// Forgets accounts that no longer exist.
    pub fn retain(&self, accounts: &[Account]) {
        self.lock()
            .retain(|id, _| accounts.iter().any(|a| a.id() == *id));
    }

    pub fn lifetime(&self, id: &str) -> Option<i64> {
        self.lock().get(id).map(|c| c.lifetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::AccessToken;

    fn account(expires_at: Option<i64>) -> Account {
        Account {
            profile: "p".into(),
            label: "a".into(),
            subject: None,
            scopes: vec![],
            expires_at,
            has_refresh_token: true,
            needs_sign_in: None,
            signed_in_at: 0,
            default: false,
            dpop_bound: false,
        }
    }

    fn tokens(expires_at: Option<i64>) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new("at".into()),
            refresh_token: None,
            id_token: None,
            expires_at,
            scopes: vec!["s".into()],
            dpop_key: None,
            dpop_bound: false,
        }
    }

    #[test]
    fn an_entry_serves_only_the_token_the_metadata_names() {
        let cache = Cache::default();
        let at = now() + 600;
        cache.put(&account(Some(at)), &tokens(Some(at)));
        assert!(cache.fresh(&account(Some(at)), 60).is_some());
        assert!(cache.fresh(&account(Some(at)), 600).is_none(), "too short");
        // Another process refreshed: the metadata moved on.
        assert!(cache.fresh(&account(Some(at + 5)), 60).is_none());
        // Logged out elsewhere.
        cache.retain(&[]);
        assert!(cache.fresh(&account(Some(at)), 60).is_none());
        // No expiry: never cached.
        cache.put(&account(None), &tokens(None));
        assert!(cache.fresh(&account(None), 0).is_none());
    }
}
