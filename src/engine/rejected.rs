//! Access tokens a server turned down before their time (git's `erase`: revoked, or ended early
//! at the provider). The mark is the SHA-256 of the rejected token in a file of its own, so it
//! holds no secret and stops mattering once the account has any other token; the next request
//! for a token refreshes first. An account is never deleted for it.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::Latchkey;
use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::profile::Grant;
use crate::model::tokens::TokenSet;

impl Latchkey {
    /// Marks the account's stored access token as rejected by a server. With `presented`, only
    /// when that is the stored token (git reports the credential it tried; an older one says
    /// nothing about the current one). Returns whether a mark was written.
    pub async fn reject_token(&self, name: &str, presented: Option<&str>) -> Result<bool> {
        let (account, tokens) = self.stored_tokens(name).await?;
        let current = tokens.access_token.secret();
        if presented.is_some_and(|p| p != current) {
            return Ok(false);
        }
        let path = self.rejected_path(&account);
        crate::store::private_files::ensure_dir(path.parent().unwrap_or(self.config().dir()))?;
        crate::store::private_files::write_atomic(&path, digest(current).as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(true)
    }

    /// [`Latchkey::token`], except that a token marked rejected is replaced by a refresh first.
    /// Concurrent callers make one refresh: the first takes a lock and the others find the new
    /// token when they get it.
    pub async fn token_not_rejected(
        &self,
        name: &str,
        min_valid: i64,
    ) -> Result<(Account, TokenSet)> {
        let (account, tokens) = self.token(name, min_valid).await?;
        if !self.is_rejected(&account, &tokens)? {
            return Ok((account, tokens));
        }
        let _lock = self
            .purpose_lock("rejected", &account.profile, &account.label)
            .await?;
        let (account, tokens) = self.token(name, min_valid).await?;
        if !self.is_rejected(&account, &tokens)? {
            return Ok((account, tokens));
        }
        let profile = self.profile(&account.profile)?;
        if !account.has_refresh_token && profile.grant != Grant::ClientCredentials {
            return Err(Error::NeedsSignIn {
                account: account.id(),
                profile: account.profile.clone(),
                reason: "a server rejected its access token and the provider issued no refresh token to get another".into(),
            });
        }
        let fresh = self.refresh(&account.id()).await?;
        // The mark names the old token only; removing it is tidiness, not correctness.
        let _ = std::fs::remove_file(self.rejected_path(&account));
        Ok(fresh)
    }

    /// An exclusive lock of its own per account and purpose, across processes (held while a
    /// browser sign-in or a rejected-token refresh runs; others wait, then find the result). The
    /// account need not exist yet.
    pub async fn purpose_lock(
        &self,
        purpose: &str,
        profile: &str,
        label: &str,
    ) -> Result<std::fs::File> {
        let config = self.config().clone();
        let (purpose, profile, label) =
            (purpose.to_string(), profile.to_string(), label.to_string());
        tokio::task::spawn_blocking(move || config.account_purpose_lock(&purpose, &profile, &label))
            .await
            .map_err(|e| Error::io("lock task failed", std::io::Error::other(e.to_string())))?
    }

    fn rejected_path(&self, account: &Account) -> PathBuf {
        self.config()
            .account_file("rejected", &account.profile, &account.label, "sha256")
    }

    fn is_rejected(&self, account: &Account, tokens: &TokenSet) -> Result<bool> {
        let path = self.rejected_path(account);
        match std::fs::read_to_string(&path) {
            Ok(mark) => Ok(mark.trim() == digest(tokens.access_token.secret())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
