//! Sign-out: revoke the refresh token when asked and possible, then forget the account.

use super::Latchkey;
use crate::error::{Error, Hint, Result};
use crate::model::account::Account;

impl Latchkey {
    /// Revokes the refresh token when asked and possible, then deletes the account. Returns
    /// whether the provider revoked it. A failed revocation keeps the account.
    pub async fn logout(&self, name: &str, revoke: bool) -> Result<(Account, bool)> {
        let id = self.account(name)?.account_id();
        // Under the lock a refresh holds from before its request until its tokens are stored:
        // the tokens read here are the newest (one rotated meanwhile is the one revoked), and
        // an account another sign-out removed meanwhile is not found.
        let _lock = self.account_lock(id.clone()).await?;
        let account = self
            .account_by_id(&id)?
            .ok_or_else(|| Error::AccountNotFound(id.to_string()))?;
        let mut revoked = false;
        if revoke {
            let tokens = match self.load_tokens(&account).await {
                Ok(t) => Some(t),
                Err(Error::NeedsSignIn { .. }) => None,
                Err(e) => return Err(e),
            };
            if let Some(refresh_token) = tokens.and_then(|t| t.refresh_token) {
                let profile = self.config.profile(&account.profile)?;
                let secret = self.client_secret(&profile).await?;
                revoked = self
                    .revoke_refresh_token(&profile, secret.as_ref(), refresh_token)
                    .await
                    .map_err(|e| {
                        Error::BadResponse {
                            context: format!("signing out of `{id}`"),
                            detail: format!("{e}. The account was kept"),
                        }
                        .with_hint(Hint::RemoveWithoutRevoking)
                    })?;
            }
        }
        self.keychain.delete(&id.keychain_key()).await?;
        self.config
            .update_accounts(|all| all.retain(|a| !a.is(&id)))?;
        Ok((account, revoked))
    }
}
