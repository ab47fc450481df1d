//! Removal and provider edits win over a refresh or sign-in in flight: what a provider issued
//! is stored only while its profile (with the same provider) and, for a refresh, its account
//! still stand; otherwise it is revoked (best effort) and not stored.
//!
//! The order that makes this hold (L: the account's lock, C: the config lock):
//! - `remove_profile`: under C the profile goes, then under C its accounts' metadata; then each
//!   account's keychain entry under its L; then the client secret.
//! - a refresh or sign-in holds L from before its request until its tokens are stored: check
//!   that account and profile stand, tokens to the keychain, and the metadata under C only if
//!   the check still holds there (a sign-in's metadata after its tokens are stored; a
//!   refresh's while the keychain write runs, as its account has tokens there already).
//!
//! A removal R and a refresh or sign-in S of account `a`, in every order:
//! 1. R takes the profile out before S checks: S revokes what it got, stores nothing, and
//!    reports the profile or account as not found; R then deletes a's old entry under L.
//! 2. R takes it out between S's check and S's metadata write: that write, under C, sees it
//!    gone; once its keychain write ended (stored or not), S deletes the entry it wrote and
//!    revokes, as in 1.
//! 3. R takes it out after S's metadata write: R removes the metadata and, waiting for L (held
//!    until S's keychain write has really ended), deletes S's entry.
//!
//! No entry or metadata outlives R. `logout` holds L throughout: a refresh runs wholly before
//! it (logout then reads, revokes and deletes the new refresh token) or wholly after (it finds
//! the account gone). An edit of the provider is refused under C while accounts exist, and a
//! sign-in's metadata write under C refuses a profile whose provider changed since the sign-in
//! began: whichever comes second sees the other.

use std::fs::File;
use std::sync::Arc;

use oauth2::{ClientSecret, RefreshToken};

use super::{Keep, Latchkey};
use crate::error::{Error, Result};
use crate::model::account::{Account, AccountId};
use crate::model::profile::Profile;
use crate::model::tokens::TokenSet;
use crate::protocol::oauth;
use crate::store::config::Config;

impl Latchkey {
    /// Stores what a provider issued with `used` for `account`, tokens and metadata, while
    /// they still stand (see the module's doc); `lock` is the account's lock, held by the
    /// caller since before the request. Otherwise nothing is kept, the refresh token is revoked
    /// (best effort), and the error says what fell.
    pub(super) async fn store_standing(
        &self,
        account: &Account,
        tokens: &TokenSet,
        used: &Profile,
        lock: &Arc<File>,
        keep: Keep,
    ) -> Result<()> {
        self.check_standing(account, tokens, used, keep).await?;
        let written = if let Keep::Refresh { .. } = keep {
            // A refreshed account has tokens in the keychain already, so its metadata is
            // written while the keychain takes the new ones: a reader in between finds the new
            // expiry with the old tokens, and when those are too old for it, waits for the
            // account's lock. The keychain's write is polled first (it starts on its thread),
            // then the metadata is written.
            let (stored, written) = tokio::join!(
                biased;
                self.store_tokens(account, tokens, lock, keep),
                async { self.write_standing(account, used, keep) }
            );
            if stored.is_err()
                && let Ok(Some(before)) = &written
            {
                // The keychain kept the old tokens: the metadata says so again (the agent
                // plans its refreshes by the expiry).
                self.restore_metadata(before);
            }
            match written {
                // Fell meanwhile: handled below, whatever the keychain answered.
                Err(e) if is_fallen(&e) => Err(e),
                other => {
                    // Marked after both, so that no metadata write undoes the mark.
                    self.mark_if_lost(account, keep, stored)?;
                    other.map(drop)
                }
            }
        } else {
            // A sign-in's account appears only once its tokens are in the keychain.
            self.keep_issued(account, tokens, lock, keep).await?;
            self.write_standing(account, used, keep).map(drop)
        };
        match written {
            Err(e) if is_fallen(&e) => {
                // Fell between the check and now: the entry just written goes as well (if
                // this fails, a removal waiting for the lock deletes it).
                let _ = self.keychain.delete(&account.keychain_key()).await;
                Err(self.discard(account, tokens, used, keep, e).await)
            }
            other => other,
        }
    }

    /// Writes `account`'s metadata under the config lock, unless it or its profile fell (the
    /// error of [`fallen`]); what the account's metadata was before, if it had any.
    fn write_standing(
        &self,
        account: &Account,
        used: &Profile,
        keep: Keep,
    ) -> Result<Option<Account>> {
        let must_exist = matches!(keep, Keep::Refresh { .. });
        let config = self.config.clone();
        let id = account.account_id();
        self.config.try_update_accounts(|all| {
            fallen(&config, all, &id, used, must_exist, keep)?;
            Ok(match all.iter_mut().find(|a| a.is(&id)) {
                // A new sign-in keeps the account's place and its mark as the default.
                Some(slot) => Some(keeping_default(slot, account)),
                None => {
                    all.push(account.clone());
                    None
                }
            })
        })
    }

    /// Puts `before` back as its account's metadata (best effort: the metadata only guides
    /// when to refresh; the keychain's tokens decide).
    fn restore_metadata(&self, before: &Account) {
        let id = before.account_id();
        let _ = self.config.update_accounts(|all| {
            if let Some(slot) = all.iter_mut().find(|a| a.is(&id)) {
                keeping_default(slot, before);
            }
        });
    }

    /// The check before tokens go to the keychain, under the account's lock: when the account
    /// or profile fell, the tokens are discarded and the error returned. A config that cannot
    /// be read says nothing fell: the tokens are kept.
    pub(super) async fn check_standing(
        &self,
        account: &Account,
        tokens: &TokenSet,
        used: &Profile,
        keep: Keep,
    ) -> Result<()> {
        let must_exist = matches!(keep, Keep::Refresh { .. });
        let check = self.config.accounts().and_then(|all| {
            fallen(
                &self.config,
                &all,
                &account.account_id(),
                used,
                must_exist,
                keep,
            )
        });
        match check {
            Err(e) if is_fallen(&e) => Err(self.discard(account, tokens, used, keep, e).await),
            _ => Ok(()),
        }
    }

    /// Revokes the refresh token of tokens that will not be stored (best effort: the account
    /// or profile is gone, and an error here would hide why), and returns `fell`. A refresh
    /// whose profile changed provider leaves the account needing a new sign-in.
    async fn discard(
        &self,
        account: &Account,
        tokens: &TokenSet,
        used: &Profile,
        keep: Keep,
        fell: Error,
    ) -> Error {
        if let Some(refresh_token) = tokens.refresh_token.clone() {
            let secret = self.client_secret(used).await.ok().flatten();
            let _ = self
                .revoke_refresh_token(used, secret.as_ref(), refresh_token)
                .await;
        }
        if matches!(keep, Keep::Refresh { .. }) && matches!(fell, Error::ProviderChanged { .. }) {
            let _ = self.mark_needs_sign_in(account, &fell.to_string());
        }
        fell
    }

    /// Revokes `refresh_token` at the profile's revocation endpoint (RFC 7009); whether it has
    /// one.
    pub(super) async fn revoke_refresh_token(
        &self,
        profile: &Profile,
        secret: Option<&ClientSecret>,
        refresh_token: RefreshToken,
    ) -> Result<bool> {
        let url = profile
            .revocation_endpoint
            .as_ref()
            .unwrap_or(&profile.token_endpoint);
        let http = self.profile_http(profile, url)?;
        let client = oauth::Client {
            http: &http,
            profile,
            secret,
        };
        client.revoke(refresh_token).await
    }
}

/// Whether the profile `used` no longer stands as it was (removed, or another provider) or,
/// with `must_exist`, the account `id` is gone from `accounts`: the error that says so.
fn fallen(
    config: &Config,
    accounts: &[Account],
    id: &AccountId,
    used: &Profile,
    must_exist: bool,
    keep: Keep,
) -> Result<()> {
    let now = config.profile(&used.name)?;
    let changed = used.provider_changes(&now);
    if !changed.is_empty() {
        return Err(Error::ProviderChanged {
            profile: used.name.clone(),
            changed: changed.join(", "),
            during: match keep {
                Keep::SignIn => format!("a sign-in to `{id}`"),
                _ => format!("a token request for `{id}`"),
            },
        });
    }
    if must_exist && !accounts.iter().any(|a| a.is(id)) {
        return Err(Error::AccountNotFound(id.to_string()));
    }
    Ok(())
}

/// Replaces `slot` with `account` but for its mark as the default; what `slot` was.
fn keeping_default(slot: &mut Account, account: &Account) -> Account {
    let default = slot.default;
    let before = std::mem::replace(slot, account.clone());
    slot.default = default;
    before
}

/// The errors of [`fallen`] that say the account or profile fell (not that the config could
/// not be read).
fn is_fallen(e: &Error) -> bool {
    matches!(
        e,
        Error::ProfileNotFound(_) | Error::AccountNotFound(_) | Error::ProviderChanged { .. }
    )
}
