//! What the user should know while an operation is still running. The engine never prints:
//! the CLI writes notices to standard error, the desktop app shows them.

use std::sync::Arc;
use std::time::Duration;

/// Something the user can act on now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The keychain refused tokens the provider has just issued (they exist nowhere else);
    /// Latchkey keeps asking for an unlock and trying again for `remaining`.
    KeychainRefusesIssuedTokens {
        account: String,
        /// Whether the tokens include a refresh token (the grant depends on keeping them).
        refresh_token: bool,
        remaining: Duration,
        /// Why the last write failed (the keychain's error message).
        cause: String,
    },
    /// The loopback listener refused a response at the sign-in's redirect URI (its `state` is
    /// missing or not this sign-in's) and goes on waiting for `remaining`.
    CallbackRefused {
        profile: String,
        /// Why, in words (provider text in it is escaped).
        reason: String,
        remaining: Duration,
    },
    /// The provider refused the account's grant (`invalid_grant`), or its tokens are lost: it
    /// is marked as needing a new sign-in (once; later calls fail with the same error). The
    /// operation's own error says the same, so a front end that shows errors may skip this.
    NeedsSignIn { account: String, reason: String },
    /// A new sign-in replaced the account's earlier grant: what became of the earlier one.
    EarlierGrantReplaced {
        account: String,
        /// Revoked at the provider (`Revoked`), or left live and why.
        outcome: EarlierGrant,
    },
}

/// What became of the grant a new sign-in of the same account replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlierGrant {
    Revoked,
    /// The provider has no revocation endpoint.
    NoRevocationEndpoint,
    /// The revocation failed (the error's message).
    NotRevoked(String),
}

/// Receives the engine's notices (see [`crate::Latchkey::with_notices`]).
pub type NoticeHook = Arc<dyn Fn(&Notice) + Send + Sync>;

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::KeychainRefusesIssuedTokens {
                account,
                refresh_token,
                remaining,
                cause,
            } => write!(
                f,
                "unlock your keyring to keep the new {} for {account}: {cause}. Trying again for {} s more",
                if *refresh_token {
                    "refresh token"
                } else {
                    "tokens"
                },
                remaining.as_secs()
            ),
            Notice::CallbackRefused {
                profile,
                reason,
                remaining,
            } => write!(
                f,
                "refused a response to the sign-in for profile `{profile}`: {reason}; nothing was stored. The sign-in is still waiting ({} s left) for the response Latchkey asked for",
                remaining.as_secs()
            ),
            Notice::NeedsSignIn { account, reason } => {
                write!(f, "`{account}` needs a new sign-in: {reason}")
            }
            Notice::EarlierGrantReplaced { account, outcome } => match outcome {
                EarlierGrant::Revoked => write!(
                    f,
                    "the new sign-in replaced the earlier one of `{account}`, whose grant was revoked at the provider"
                ),
                EarlierGrant::NoRevocationEndpoint => write!(
                    f,
                    "the new sign-in replaced the earlier one of `{account}`; the provider has no revocation endpoint, so the earlier grant stays valid until it expires or is revoked at the provider"
                ),
                EarlierGrant::NotRevoked(why) => write!(
                    f,
                    "the new sign-in replaced the earlier one of `{account}`, but its grant could not be revoked ({why}); revoke it at the provider"
                ),
            },
        }
    }
}
