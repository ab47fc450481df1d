//! Tokens: the cached one while it is valid, a refresh under the account's lock otherwise, and
//! the rule that a refresh token the provider issued is never lost.

use std::fs::File;
use std::sync::Arc;

use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, TokenResponse};

use super::client_credentials::Target;
use super::{Keep, Latchkey, advise, needs_sign_in, token_set};
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::notice::Notice;
use crate::model::profile::Profile;
use crate::model::tokens::{TokenSet, now};
use crate::protocol::idtoken::Expect;
use crate::protocol::keys::SigningKey;
use crate::protocol::oauth;

impl Latchkey {
    /// A token valid for at least `min_valid` seconds, refreshed first when needed. The common
    /// case (a valid cached token) is two small file reads and one keychain read.
    pub async fn token(&self, name: &str, min_valid: i64) -> Result<(Account, TokenSet)> {
        let account = match self.target(name)? {
            Target::Account(account) => account,
            Target::Client(profile) => {
                return self
                    .client_credentials_token(&profile, Some(min_valid))
                    .await;
            }
        };
        if let Some(reason) = &account.needs_sign_in {
            return Err(needs_sign_in(&account, reason));
        }
        // The metadata carries the same expiry as the keychain entry: when it already says the
        // token is too old, go straight to the refresh.
        if account.expires_at.is_none_or(|t| t - now() > min_valid) {
            let tokens = self.load_tokens(&account).await?;
            if tokens.valid_for(now(), min_valid) {
                return Ok((account, tokens));
            }
        }
        self.refresh_account(&account, Some(min_valid)).await
    }

    /// Refreshes now, whatever the expiry.
    pub async fn refresh(&self, name: &str) -> Result<(Account, TokenSet)> {
        match self.target(name)? {
            Target::Account(account) => self.refresh_account(&account, None).await,
            Target::Client(profile) => self.client_credentials_token(&profile, None).await,
        }
    }

    /// Refresh under the account's lock, so concurrent callers in any process make one request:
    /// the first refreshes, the others find its fresh token when they get the lock.
    async fn refresh_account(
        &self,
        account: &Account,
        min_valid: Option<i64>,
    ) -> Result<(Account, TokenSet)> {
        let id = account.account_id();
        let seen = account.expires_at;
        // The keychain finds the entry's item while this waits for the lock; the read comes
        // under the lock. Detached: the read waits for it.
        let _ = self.keychain.locate(&account.keychain_key());
        let lock = Arc::new(self.account_lock(id.clone()).await?);
        let account = self
            .account_by_id(&id)?
            .ok_or_else(|| Error::AccountNotFound(id.to_string()))?;
        if let Some(reason) = &account.needs_sign_in {
            return Err(needs_sign_in(&account, reason));
        }
        let profile = self.config.profile(&account.profile)?;
        // A token another process got while this one waited is the one to hand out, even when
        // the provider's tokens live less than `min_valid`: concurrent callers make one request
        // between them, not one each.
        let renewed = account.expires_at != seen;
        let good = |expires_at: Option<i64>, m: i64| {
            expires_at.is_none_or(|t| t - now() > m || (renewed && t - now() > m.min(10)))
        };
        // What needs neither the client secret nor the keys: a token another process refreshed
        // while this one waited for the lock, or an account with no refresh token.
        if !account.has_refresh_token
            || min_valid
                .is_some_and(|m| account.expires_at.is_some() && good(account.expires_at, m))
        {
            let tokens = self.load_tokens(&account).await?;
            if min_valid.is_some_and(|m| good(tokens.expires_at, m)) {
                return Ok((account, tokens));
            }
            if tokens.refresh_token.is_none() {
                return Err(no_refresh_token(&account));
            }
        }
        let secret = self.client_secret(&profile).await?;
        // Keys before the refresh token is spent: rotation makes it single-use.
        let keys = self.keys_for_openid(&profile).await?;
        // The tokens are read last, just before the refresh token is sent: between the two
        // nothing waits (see the keychain check below). HTTP is set up while the keychain
        // answers: both take a few milliseconds.
        let (tokens, http) = tokio::join!(self.load_tokens(&account), async {
            self.profile_http(&profile, &profile.token_endpoint)
        });
        let tokens = tokens?;
        if min_valid.is_some_and(|m| good(tokens.expires_at, m)) {
            return Ok((account, tokens));
        }
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(no_refresh_token(&account));
        };
        // Rotation makes the refresh token single-use: the keychain must take its successor.
        // The entry was found unlocked just now, which answers that without asking again.
        self.keychain
            .ensure_writable_for(&account.keychain_key())
            .await?;
        let dpop_key = match &tokens.dpop_key {
            Some(pem) => Some(SigningKey::from_pem(pem.secret()).map_err(|e| {
                Error::InvalidInput(format!(
                    "the DPoP key of `{}` in the keychain cannot be used: {e}",
                    account.id()
                ))
            })?),
            None => None,
        };
        let client = oauth::Client {
            http: &http?,
            profile: &profile,
            secret: secret.as_ref(),
        };
        let response = match client.refresh(dpop_key.as_ref(), &refresh_token).await {
            Ok(r) => r,
            Err(oauth::RefreshFailure {
                error,
                rotated: Some(rotated),
                ..
            }) => {
                // An answer we cannot use, but with a new refresh token: the one sent may be
                // spent, so keep the new one (and nothing else) before reporting the error.
                self.keep_rotated_refresh_token(&account, &tokens, Some(&rotated), &profile, &lock)
                    .await?;
                return Err(error);
            }
            Err(oauth::RefreshFailure {
                code: Some(BasicErrorResponseType::InvalidGrant),
                error: Error::Provider { description, .. },
                ..
            }) => {
                let reason = match description {
                    Some(d) => {
                        format!("the provider rejected the refresh token (invalid_grant: {d})")
                    }
                    None => "the provider rejected the refresh token (invalid_grant)".into(),
                };
                self.mark_needs_sign_in(&account, &reason)?;
                return Err(needs_sign_in(&account, &reason));
            }
            Err(failure) => return Err(advise(&profile, failure.error)),
        };
        let now = now();
        let checked = match (&response.extra_fields().id_token, keys) {
            (Some(id_token), Some(keys)) => {
                let expect = Expect::Refresh {
                    subject: account.subject.as_deref(),
                };
                match self
                    .verify_id_token(&profile, id_token.secret(), expect, now, keys)
                    .await
                {
                    Ok(_) => true,
                    Err(e) => {
                        // The refresh token sent is spent; a rotated one is all that is left of
                        // the grant. Keep it, and nothing else from an unverified answer.
                        self.keep_rotated_refresh_token(
                            &account,
                            &tokens,
                            response.refresh_token(),
                            &profile,
                            &lock,
                        )
                        .await?;
                        // A refused id_token needs a new sign-in; a failure to fetch the keys
                        // says nothing about the account, and the next refresh tries again.
                        if matches!(e.unhinted(), Error::IdToken { .. }) {
                            self.mark_needs_sign_in(&account, &e.to_string())?;
                        }
                        return Err(e);
                    }
                }
            }
            _ => false,
        };
        let tokens = token_set(
            &response,
            &tokens.scopes,
            Some(tokens.clone()),
            checked,
            now,
        );
        let updated = Account {
            scopes: tokens.scopes.clone(),
            expires_at: tokens.expires_at,
            has_refresh_token: tokens.refresh_token.is_some(),
            needs_sign_in: None,
            dpop_bound: tokens.dpop_bound,
            ..account
        };
        // The rotated refresh token is stored before the token is handed out or another request
        // is made: the old one is dead.
        // Unless the account or its profile was removed while the request ran: then it is
        // revoked instead (see `standing`).
        let rotated = response.refresh_token().is_some();
        self.store_standing(
            &updated,
            &tokens,
            &profile,
            &lock,
            Keep::Refresh { rotated },
        )
        .await?;
        Ok((updated, tokens))
    }

    /// Stores the refresh token a refresh response rotated in, beside the tokens held before
    /// (the response's access token and id_token are not taken: its id_token did not verify).
    /// Without rotation the stored refresh token is still the live one, and nothing is written.
    async fn keep_rotated_refresh_token(
        &self,
        account: &Account,
        held: &TokenSet,
        rotated: Option<&RefreshToken>,
        used: &Profile,
        lock: &Arc<File>,
    ) -> Result<()> {
        let Some(rotated) = rotated else {
            return Ok(());
        };
        let kept = TokenSet {
            refresh_token: Some(rotated.clone()),
            ..held.clone()
        };
        let keep = Keep::Refresh { rotated: true };
        self.check_standing(account, &kept, used, keep).await?;
        self.keep_issued(account, &kept, lock, keep).await
    }

    /// Marks `account` as needing a new sign-in; the first time, front ends are told
    /// ([`Notice::NeedsSignIn`]: the desktop app's notification).
    pub(super) fn mark_needs_sign_in(&self, account: &Account, reason: &str) -> Result<()> {
        let id = account.account_id();
        let newly = self.config.update_accounts(|all| {
            all.iter_mut()
                .find(|a| a.is(&id))
                .is_some_and(|a| a.needs_sign_in.replace(reason.to_string()).is_none())
        })?;
        if newly && let Some(hook) = &self.notices {
            hook(&Notice::NeedsSignIn {
                account: id.to_string(),
                reason: reason.to_string(),
            });
        }
        Ok(())
    }

    pub(super) async fn load_tokens(&self, account: &Account) -> Result<TokenSet> {
        let key = account.keychain_key();
        match self.keychain.get(&key).await? {
            Some(bytes) => Ok(TokenSet::from_bytes(&key, &bytes)?),
            None => Err(needs_sign_in(
                account,
                "its tokens are missing from the keychain",
            )),
        }
    }

    /// The account's tokens as stored, without refreshing (for reveal and details views).
    pub async fn stored_tokens(&self, name: &str) -> Result<(Account, TokenSet)> {
        let account = self.account(name)?;
        let tokens = self.load_tokens(&account).await?;
        Ok((account, tokens))
    }
}

fn no_refresh_token(account: &Account) -> Error {
    needs_sign_in(
        account,
        "the access token has expired and the provider issued no refresh token",
    )
}
