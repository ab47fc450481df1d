//! Accounts: one signed-in identity under a profile, named `PROFILE/LABEL`. The metadata here is
//! what `latchkey accounts` shows without touching the keychain; the tokens are in the keychain.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub profile: String,
    pub label: String,
    /// The id_token `sub`, when the profile uses OpenID Connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When the access token expires, in Unix seconds; absent when the provider did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub has_refresh_token: bool,
    /// Why the grant is no longer usable (set on `invalid_grant`); cleared by a new sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_sign_in: Option<String>,
    pub signed_in_at: i64,
    /// Marked as its profile's default account (`latchkey accounts default`): the one a bare
    /// profile name means. Without a mark, the profile's first account is its default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// Its access tokens are DPoP-bound (RFC 9449): useless without a proof of its key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound: bool,
}

/// Which account: a profile and a label under it. Shown as `PROFILE/LABEL`, which is also how
/// users name accounts and how the keychain entry is named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId {
    pub profile: String,
    pub label: String,
}

impl AccountId {
    pub fn new(profile: impl Into<String>, label: impl Into<String>) -> Self {
        AccountId {
            profile: profile.into(),
            label: label.into(),
        }
    }

    /// Splits `PROFILE/LABEL` at its first `/` (labels may not hold one, but claims-derived
    /// ones are sanitised, see the engine); `None` for a bare `PROFILE`.
    pub fn parse(name: &str) -> Option<Self> {
        let (profile, label) = name.split_once('/')?;
        Some(AccountId::new(profile, label))
    }

    /// The keychain entry that holds this account's tokens.
    pub fn keychain_key(&self) -> String {
        account_key(&self.profile, &self.label)
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.profile, self.label)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    /// The access token has expired; a refresh token may still renew it.
    Expired,
    NeedsSignIn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Expired => "expired",
            Status::NeedsSignIn => "needs sign-in",
        }
    }
}

impl Account {
    /// `PROFILE/LABEL`, as shown and as users type it.
    pub fn id(&self) -> String {
        self.account_id().to_string()
    }

    pub fn account_id(&self) -> AccountId {
        AccountId::new(&self.profile, &self.label)
    }

    /// Whether this is the account `id` names.
    pub fn is(&self, id: &AccountId) -> bool {
        self.profile == id.profile && self.label == id.label
    }

    pub fn status(&self, now: i64) -> Status {
        if self.needs_sign_in.is_some() {
            Status::NeedsSignIn
        } else if self.expires_at.is_some_and(|t| t <= now) {
            Status::Expired
        } else {
            Status::Ok
        }
    }

    /// The keychain entry that holds this account's tokens.
    pub fn keychain_key(&self) -> String {
        account_key(&self.profile, &self.label)
    }
}

/// Finds the account `id` names.
pub fn find<'a>(accounts: &'a [Account], id: &AccountId) -> Option<&'a Account> {
    accounts.iter().find(|a| a.is(id))
}

pub fn account_key(profile: &str, label: &str) -> String {
    format!("account:{profile}/{label}")
}

/// Finds the account a user named: `PROFILE/LABEL`, or `PROFILE` for the profile's default
/// account ([`default_of`]), so that a bare name keeps meaning the same account when another
/// signs in.
pub fn resolve<'a>(accounts: &'a [Account], name: &str) -> Result<&'a Account> {
    if let Some(id) = AccountId::parse(name) {
        return find(accounts, &id).ok_or_else(|| Error::AccountNotFound(name.to_string()));
    }
    default_of(accounts, name).ok_or_else(|| Error::AccountNotFound(name.to_string()))
}

/// The default account of `profile`: the one marked so, else its first (the first signed in:
/// a new sign-in is appended, a repeated one keeps its place).
pub fn default_of<'a>(accounts: &'a [Account], profile: &str) -> Option<&'a Account> {
    let mut of_profile = accounts.iter().filter(|a| a.profile == profile);
    let first = of_profile.next()?;
    Some(
        std::iter::once(first)
            .chain(of_profile)
            .find(|a| a.default)
            .unwrap_or(first),
    )
}

/// Whether `account` is its profile's default among `accounts`.
pub fn is_default(accounts: &[Account], account: &Account) -> bool {
    default_of(accounts, &account.profile).is_some_and(|d| d.is(&account.account_id()))
}

/// Marks `id` as its profile's default account, unmarking the others; `false` when there is
/// no such account.
pub fn mark_default(accounts: &mut [Account], id: &AccountId) -> bool {
    if find(accounts, id).is_none() {
        return false;
    }
    for a in accounts.iter_mut().filter(|a| a.profile == id.profile) {
        a.default = a.is(id);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(profile: &str, label: &str) -> Account {
        Account {
            profile: profile.into(),
            label: label.into(),
            subject: None,
            scopes: vec![],
            expires_at: Some(100),
            has_refresh_token: true,
            needs_sign_in: None,
            signed_in_at: 0,
            default: false,
            dpop_bound: false,
        }
    }

    #[test]
    fn a_bare_profile_name_is_its_default_account() {
        let mut all = vec![account("gh", "alice"), account("g", "a"), account("g", "b")];
        assert_eq!(resolve(&all, "gh").unwrap().label, "alice");
        assert_eq!(resolve(&all, "g/b").unwrap().label, "b");
        // The first signed in, until another is marked.
        assert_eq!(resolve(&all, "g").unwrap().label, "a");
        assert!(is_default(&all, &all[1]) && !is_default(&all, &all[2]));
        assert!(mark_default(&mut all, &AccountId::new("g", "b")));
        assert_eq!(resolve(&all, "g").unwrap().label, "b");
        assert!(!all[1].default && all[2].default && !all[0].default);
        assert!(!mark_default(&mut all, &AccountId::new("g", "c")));
        assert_eq!(resolve(&all, "g").unwrap().label, "b");
        assert!(matches!(resolve(&all, "x"), Err(Error::AccountNotFound(_))));
        assert!(matches!(
            resolve(&all, "g/c"),
            Err(Error::AccountNotFound(_))
        ));
    }

    #[test]
    fn labels_with_slashes_in_the_profile_part_do_not_match_others() {
        let all = vec![account("gh", "a@b")];
        assert!(resolve(&all, "gh/a@b").is_ok());
        assert!(resolve(&all, "gh/a").is_err());
    }

    #[test]
    fn account_ids_read_and_show_as_profile_slash_label() {
        let id = AccountId::parse("gh/a@b").unwrap();
        assert_eq!(id, AccountId::new("gh", "a@b"));
        assert_eq!(id.to_string(), "gh/a@b");
        assert_eq!(id.keychain_key(), "account:gh/a@b");
        assert!(AccountId::parse("gh").is_none());
        assert!(account("gh", "a@b").is(&id) && !account("gh", "a").is(&id));
        assert_eq!(account("gh", "a@b").id(), "gh/a@b");
    }

    #[test]
    fn status_follows_expiry_and_sign_in_flag() {
        let mut a = account("p", "l");
        assert_eq!(a.status(99), Status::Ok);
        assert_eq!(a.status(100), Status::Expired);
        a.needs_sign_in = Some("invalid_grant".into());
        assert_eq!(a.status(0), Status::NeedsSignIn);
    }
}
