//! Removing a profile: its accounts and every keychain entry of theirs go with it.

use super::{Latchkey, secret_key};
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::profile::Profile;

impl Latchkey {
    /// Removes a profile, its accounts and every keychain entry of theirs. The profile and the
    /// accounts' metadata go first, so that a refresh or sign-in in flight stores nothing (it
    /// revokes what it got, see `standing`); then each account's keychain entry under its lock,
    /// then the client secret. A keychain that fails on the way puts back the profile and the
    /// accounts whose entries remain, so the command can be repeated.
    pub async fn remove_profile(&self, name: &str) -> Result<Vec<Account>> {
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
        for (i, account) in accounts.iter().enumerate() {
            // The lock waits for a refresh or sign-in still writing this entry.
            let deleted = match self.account_lock(account.account_id()).await {
                Ok(_lock) => self
                    .keychain
                    .delete(&account.keychain_key())
                    .await
                    .map_err(Error::from),
                Err(e) => Err(e),
            };
            deleted.inspect_err(|_| self.put_back(&profile, &accounts[i..]))?;
        }
        for key in [secret_key(name), super::registration_token_key(name)] {
            self.keychain
                .delete(&key)
                .await
                .inspect_err(|_| self.put_back(&profile, &[]))?;
        }
        Ok(accounts)
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
