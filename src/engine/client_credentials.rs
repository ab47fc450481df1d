//! The client credentials grant (RFC 6749 §4.4): a machine client's own token, cached in the
//! account `PROFILE/client`.

use std::sync::Arc;

use super::{CLIENT_LABEL, Keep, Latchkey, advise, token_set};
use crate::error::{Error, Hint, Result};
use crate::model::account::{Account, AccountId};
use crate::model::profile::{Grant, Profile};
use crate::model::tokens::{TokenSet, now};
use crate::protocol::oauth;

/// What a name given to `token` or `refresh` refers to.
pub(super) enum Target {
    /// A signed-in account.
    Account(Account),
    /// A client credentials profile (`PROFILE` or `PROFILE/client`).
    Client(Box<Profile>),
}

impl Latchkey {
    /// What `name` refers to: an account, or a client credentials profile. The hot path reads
    /// no profile: only a client credentials account is `…/client`.
    pub(super) fn target(&self, name: &str) -> Result<Target> {
        match self.account(name) {
            Ok(account) if account.label != CLIENT_LABEL => Ok(Target::Account(account)),
            other => match self.client_credentials_profile(name)? {
                Some(profile) => Ok(Target::Client(Box::new(profile))),
                None => other.map(Target::Account),
            },
        }
    }

    /// The account `name` stands for, also a client credentials profile's `PROFILE/client`
    /// before its first token: what access rules are matched against.
    pub fn account_id_for(&self, name: &str) -> Result<AccountId> {
        Ok(match self.target(name)? {
            Target::Account(account) => AccountId::new(&account.profile, &account.label),
            Target::Client(profile) => AccountId::new(&profile.name, CLIENT_LABEL),
        })
    }

    /// The client-credentials profile `name` refers to (`PROFILE` or `PROFILE/client`), if any.
    fn client_credentials_profile(&self, name: &str) -> Result<Option<Profile>> {
        let (profile, label) = match AccountId::parse(name) {
            Some(id) => (id.profile, Some(id.label)),
            None => (name.to_string(), None),
        };
        let profile = match self.config.profile(&profile) {
            Ok(p) if p.grant == Grant::ClientCredentials => p,
            Ok(_) | Err(Error::ProfileNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        match label.as_deref() {
            None | Some(CLIENT_LABEL) => Ok(Some(profile)),
            Some(_) => Err(Error::AccountNotFound(name.to_string())),
        }
    }

    /// The client credentials token of `profile`: the cached one while it stays valid for
    /// `min_valid` seconds (`None`: always fetch). Under the account lock, so concurrent callers
    /// in any process make one request; the account `PROFILE/client` appears on first fetch.
    pub(super) async fn client_credentials_token(
        &self,
        profile: &Profile,
        min_valid: Option<i64>,
    ) -> Result<(Account, TokenSet)> {
        let id = AccountId::new(&profile.name, CLIENT_LABEL);
        // The common case without the lock: a valid cached token.
        if let Some(cached) = self.cached_client_token(&id, min_valid).await? {
            return Ok(cached);
        }
        let lock = Arc::new(self.account_lock(id.clone()).await?);
        if let Some(cached) = self.cached_client_token(&id, min_valid).await? {
            return Ok(cached);
        }
        let existing = self.account_by_id(&id)?;
        let secret = self.client_secret(profile).await?.ok_or_else(|| {
            Error::InvalidInput(format!(
                "profile `{}` uses the client credentials grant but has no client secret; set it",
                profile.name
            ))
            .with_hint(Hint::SetClientSecret {
                profile: profile.name.clone(),
            })
        })?;
        let http = &self.profile_http(profile, &profile.token_endpoint)?;
        let client = oauth::Client {
            http,
            profile,
            secret: Some(&secret),
        };
        let response = client
            .client_credentials()
            .await
            .map_err(|e| advise(profile, e))?;
        let now = now();
        let mut tokens = token_set(&response, &profile.scopes, None, false, now);
        // RFC 6749 §4.4.3: no refresh token here; a new token is fetched with the secret.
        tokens.refresh_token = None;
        let account = Account {
            profile: id.profile,
            label: id.label,
            subject: None,
            scopes: tokens.scopes.clone(),
            expires_at: tokens.expires_at,
            has_refresh_token: false,
            needs_sign_in: None,
            signed_in_at: existing.map_or(now, |a| a.signed_in_at),
            default: false,
            dpop_bound: false,
        };
        // Not when the profile was removed or changed meanwhile (see `standing`).
        self.store_standing(&account, &tokens, profile, &lock, Keep::ClientToken)
            .await?;
        Ok((account, tokens))
    }

    /// The stored client token of `id` when it stays valid for `min_valid` seconds (`None`:
    /// never, the caller wants a fresh one).
    async fn cached_client_token(
        &self,
        id: &AccountId,
        min_valid: Option<i64>,
    ) -> Result<Option<(Account, TokenSet)>> {
        let Some(min_valid) = min_valid else {
            return Ok(None);
        };
        let Some(account) = self.account_by_id(id)? else {
            return Ok(None);
        };
        let Some(bytes) = self.keychain.get(&id.keychain_key()).await? else {
            return Ok(None);
        };
        let tokens = TokenSet::from_bytes(&id.keychain_key(), &bytes)?;
        let valid = account.expires_at.is_none_or(|t| t - now() > min_valid)
            && tokens.valid_for(now(), min_valid);
        Ok(valid.then_some((account, tokens)))
    }
}
