//! What an account holds in the keychain: its tokens, in one JSON value.

use oauth2::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};

use crate::model::secret::{IdToken, KeyPem};
use crate::store::keychain::KeychainError;

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub id_token: Option<IdToken>,
    /// Unix seconds; absent when the provider did not give `expires_in`.
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The account's DPoP key (RFC 9449), for a profile whose tokens are bound to one: made at
    /// sign-in, kept for every refresh, gone with the account.
    pub dpop_key: Option<KeyPem>,
    /// The provider bound the access token to `dpop_key` (`token_type` DPoP). Its refresh
    /// token may be bound even when this is false (RFC 9449 §5: public clients), so the key is
    /// kept whenever a proof was sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound: bool,
}

impl TokenSet {
    /// Whether the access token stays valid for at least `min_valid` more seconds. A token
    /// without a known expiry is taken as valid: nothing says otherwise.
    pub fn valid_for(&self, now: i64, min_valid: i64) -> bool {
        self.expires_at.is_none_or(|t| t - now > min_valid)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(key: &str, bytes: &[u8]) -> Result<Self, KeychainError> {
        serde_json::from_slice(bytes).map_err(|e| {
            // serde's message for a type error quotes no values, only positions.
            KeychainError::Corrupt(
                key.to_string(),
                format!("not a token set: line {}", e.line()),
            )
        })
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_tokens() {
        let set = TokenSet {
            access_token: AccessToken::new("at-very-secret".into()),
            refresh_token: Some(RefreshToken::new("rt-very-secret".into())),
            id_token: Some(IdToken::new("id-very-secret".into())),
            expires_at: Some(5),
            scopes: vec!["openid".into()],
            dpop_key: Some(KeyPem::new("-----BEGIN PRIVATE KEY-----very-secret")),
            dpop_bound: false,
        };
        let debug = format!("{set:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        let back = TokenSet::from_bytes("k", &set.to_bytes()).unwrap();
        assert_eq!(back.refresh_token.unwrap().secret(), "rt-very-secret");
    }

    #[test]
    fn validity_honours_the_margin() {
        let mut set = TokenSet {
            access_token: AccessToken::new("a".into()),
            refresh_token: None,
            id_token: None,
            expires_at: Some(1000),
            scopes: vec![],
            dpop_key: None,
            dpop_bound: false,
        };
        assert!(set.valid_for(900, 60));
        assert!(!set.valid_for(950, 60));
        set.expires_at = None;
        assert!(set.valid_for(i64::MAX / 2, 60));
    }
}
