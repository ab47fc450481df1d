//! Removing a profile: its accounts and every keychain entry of theirs go with it.

use oauth2::{AccessToken, ClientSecret, RefreshToken};

use super::{Latchkey, secret_key};
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::profile::Profile;

/// What [`Latchkey::remove_profile`] removed here, and what is left to end at the provider.
#[derive(Debug)]
pub struct Removed {
    pub accounts: Vec<Account>,
    /// The grants to end at the provider: [`Latchkey::end_at_provider`] does it.
    pub at_provider: AtProvider,
}

/// What a removed profile held at its provider, read before its keychain entries went: the
/// accounts' refresh tokens, the client secret that revokes them, and the registration access
/// token of a client it registered (RFC 7592). Only in memory (`Debug` shows no secret).
#[derive(Debug, Default)]
pub struct AtProvider {
    profile: Option<Profile>,
    secret: Option<ClientSecret>,
    refresh_tokens: Vec<(String, RefreshToken)>,
    registration_token: Option<AccessToken>,
}

/// What [`Latchkey::end_at_provider`] did (best effort: reported, since the removal is done).
#[derive(Debug, Default)]
pub struct Ended {
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
    /// accounts whose entries remain, so the command can be repeated. With `revoke`, what the
    /// profile holds at the provider is read first and returned, to end there once nothing is
    /// left here ([`Self::end_at_provider`]): no network call happens while a secret of the
    /// profile is still in the keychain.
    pub async fn remove_profile(&self, name: &str, revoke: bool) -> Result<Removed> {
        let existing = self.config.profile(name)?;
        // A locked keychain refuses before anything is removed.
        self.keychain.ensure_writable().await?;
        let mut at_provider = AtProvider::default();
        if revoke {
            // Before anything goes: without it, the revocations have no client secret.
            at_provider.secret = self.client_secret(&existing).await.ok().flatten();
            at_provider.registration_token = match existing.registration {
                Some(_) => self.registration_token(name).await.ok().flatten(),
                None => None,
            };
        }
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
            let deleted = async {
                let _lock = self.account_lock(account.account_id()).await?;
                // Read before the entry goes: revoked once nothing is left here.
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
                at_provider
                    .refresh_tokens
                    .push((account.id().to_string(), refresh_token));
            }
        }
        for key in [secret_key(name), super::registration_token_key(name)] {
            self.keychain
                .delete(&key)
                .await
                .inspect_err(|_| self.put_back(&profile, &[]))?;
        }
        if revoke {
            at_provider.profile = Some(profile);
        }
        Ok(Removed {
            accounts,
            at_provider,
        })
    }

    /// Ends a removed profile's grants at its provider: the refresh tokens revoked (at once),
    /// then a client it registered deleted. Each failure is reported, none returned.
    pub async fn end_at_provider(&self, what: AtProvider) -> Ended {
        let Some(profile) = what.profile else {
            return Ended::default();
        };
        let secret = what.secret.as_ref();
        let revocations = what.refresh_tokens.into_iter().map(|(id, token)| async {
            let outcome = self.revoke_refresh_token(&profile, secret, token).await;
            (id, outcome)
        });
        let revoked = futures_util::future::join_all(revocations).await;
        let registration = match (&profile.registration, what.registration_token) {
            (Some(_), Some(token)) => {
                Some(self.delete_registration(&profile, token.secret()).await)
            }
            (Some(_), None) => Some(Ok(false)),
            (None, _) => None,
        };
        Ended {
            revoked,
            registration,
        }
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
