//! Removing a profile: its accounts and every keychain entry of theirs go with it.

use super::{Latchkey, secret_key};
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::profile::Profile;

/// What [`Latchkey::remove_profile`] removed, and what it ended at the provider (best effort:
/// a failure there is reported, not returned, since the removal goes on as the user asked).
#[derive(Debug, Default)]
pub struct Removed {
    pub accounts: Vec<Account>,
    /// Each account that held a refresh token, and its revocation (RFC 7009): `Ok(true)`
    /// revoked, `Ok(false)` the provider has no revocation endpoint, or why it failed.
    pub revoked: Vec<(String, Result<bool>)>,
    /// The client the profile registered (RFC 7592), when it did: deleted (`Ok(true)`), no way
    /// to delete it (`Ok(false)`), or why it failed.
    pub registration: Option<Result<bool>>,
}

impl Latchkey {
    /// Removes a profile, its accounts and every keychain entry of theirs. The profile and the
    /// accounts' metadata go first, so that a refresh or sign-in in flight stores nothing (it
    /// revokes what it got, see `standing`); then each account's keychain entry under its lock,
    /// then the client secret. A keychain that fails on the way puts back the profile and the
    /// accounts whose entries remain, so the command can be repeated. With `revoke`, the
    /// refresh tokens of the entries removed are revoked at the provider, as `logout` does;
    /// a client the profile registered is deleted there.
    pub async fn remove_profile(&self, name: &str, revoke: bool) -> Result<Removed> {
        self.config.profile(name)?;
        // A locked keychain refuses before anything is removed.
        self.keychain.ensure_writable().await?;
        let profile = self.config.update_profiles(|all| {
            all.remove(name)
                .ok_or_else(|| Error::ProfileNotFound(name.to_string()))
        })?;
        let accounts = self
            .config
            .update_accounts(|all| {
                let (gone, kept) = std::mem::take(all)
                    .into_iter()
                    .partition::<Vec<_>, _>(|a| a.profile == name);
                *all = kept;
                gone
            })
            .inspect_err(|_| self.put_back(&profile, &[]))?;
        let mut to_revoke = Vec::new();
        for (i, account) in accounts.iter().enumerate() {
            // The lock waits for a refresh or sign-in still writing this entry.
            let deleted = async {
                let _lock = self.account_lock(account.account_id()).await?;
                // Read before the entry goes: revoked once it is gone.
                let tokens = match revoke {
                    true => self.load_tokens(account).await.ok(),
                    false => None,
                };
                self.keychain.delete(&account.keychain_key()).await?;
                Ok::<_, Error>(tokens.and_then(|t| t.refresh_token))
            }
            .await
            .inspect_err(|_| self.put_back(&profile, &accounts[i..]))?;
            if let Some(refresh_token) = deleted {
                to_revoke.push((account.id().to_string(), refresh_token));
            }
        }
        let mut removed = Removed::default();
        if !to_revoke.is_empty() {
            let secret = self.client_secret(&profile).await;
            for (id, refresh_token) in to_revoke {
                let outcome = match &secret {
                    Ok(secret) => {
                        self.revoke_refresh_token(&profile, secret.as_ref(), refresh_token)
                            .await
                    }
                    Err(e) => Err(Error::InvalidInput(format!(
                        "the client secret could not be read: {e}"
                    ))),
                };
                removed.revoked.push((id, outcome));
            }
        }
        if revoke && profile.registration.is_some() {
            removed.registration = Some(self.delete_registration(&profile).await);
        }
        for key in [secret_key(name), super::registration_token_key(name)] {
            self.keychain
                .delete(&key)
                .await
                .inspect_err(|_| self.put_back(&profile, &[]))?;
        }
        removed.accounts = accounts;
        Ok(removed)
    }

    /// Puts back what a removal took out before the keychain failed (best effort: the error
    /// reported is the keychain's).
    fn put_back(&self, profile: &Profile, accounts: &[Account]) {
        let _ = self.config.update_profiles(|all| {
            all.entry(profile.name.clone())
                .or_insert_with(|| profile.clone());
            Ok(())
        });
        let _ = self.config.update_accounts(|all| {
            for account in accounts {
                if !all.iter().any(|a| a.is(&account.account_id())) {
                    all.push(account.clone());
                }
            }
        });
    }
}
