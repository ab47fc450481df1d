//! What a token is for, and the token as it leaves the door.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What the token is for: history says it, and the tools' purposes replace a token a server
/// turned down before handing it out (see `git-credential erase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Token,
    Refresh,
    Exec,
    Git,
    Kube,
    /// Copied in the desktop app, by the user's hand.
    Copy,
    /// Injected into requests by `latchkey proxy`.
    Proxy,
    /// Answered by `latchkey serve` to a client in a container or VM.
    Serve,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Token => "token",
            Purpose::Refresh => "refresh",
            Purpose::Exec => "exec",
            Purpose::Git => "git",
            Purpose::Kube => "kube",
            Purpose::Copy => "copy",
            Purpose::Proxy => "proxy",
            Purpose::Serve => "serve",
        }
    }

    /// Whether a token marked as rejected by a server must be replaced before it is handed out.
    pub fn avoids_rejected(self) -> bool {
        matches!(
            self,
            Purpose::Exec | Purpose::Git | Purpose::Kube | Purpose::Proxy
        )
    }

    /// Whether the program is a tool that runs its helpers through a shell (`git` runs
    /// `sh -c '…'`): the program that holds the token is then the shell's parent.
    pub fn through_shell(self) -> bool {
        matches!(self, Purpose::Git | Purpose::Kube)
    }
}

/// A token handed out, as the front ends print it. `Debug` never shows the token.
#[derive(Serialize, Deserialize)]
pub struct Handed {
    pub account: String,
    pub access_token: Zeroizing<String>,
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
    /// `DPoP` for a token bound to the account's key (RFC 9449); absent: `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The DPoP proof the door signed for the request the caller named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_proof: Option<Zeroizing<String>>,
}

impl Handed {
    /// What the engine handed out.
    pub fn new(account: &crate::Account, tokens: &crate::TokenSet) -> Self {
        Handed {
            account: account.id(),
            access_token: Zeroizing::new(tokens.access_token.secret().clone()),
            expires_at: tokens.expires_at,
            scopes: tokens.scopes.clone(),
            token_type: None,
            dpop_proof: None,
        }
    }

    /// `Bearer` or `DPoP`: the scheme of the `Authorization` header (RFC 9449 §7.1).
    pub fn scheme(&self) -> &str {
        self.token_type.as_deref().unwrap_or("Bearer")
    }

    /// The profile part of the account's name.
    pub fn profile(&self) -> &str {
        self.account.split('/').next().unwrap_or(&self.account)
    }
}

impl std::fmt::Debug for Handed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handed")
            .field("account", &self.account)
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("token_type", &self.token_type)
            .finish()
    }
}
