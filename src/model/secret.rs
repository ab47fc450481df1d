//! Secret values that are not covered by `oauth2`'s own redacting types.

use serde::{Deserialize, Serialize};

/// An OpenID Connect id_token. Not a bearer credential for APIs, but it carries personal data
/// and is kept with the tokens, so it is redacted in `Debug` like them.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct IdToken(String);

impl IdToken {
    pub fn new(value: String) -> Self {
        IdToken(value)
    }

    /// The compact JWT. Do not log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken([redacted])")
    }
}

/// The OpenID Connect `nonce` of a sign-in: a random value the id_token must echo. Redacted in
/// `Debug`, and compared in constant time, so neither a log nor a timing tells it.
#[derive(Clone)]
pub struct Nonce(String);

impl Nonce {
    /// A fresh random nonce (the same entropy as a `state`).
    pub fn new_random() -> Self {
        Nonce(oauth2::CsrfToken::new_random().secret().clone())
    }

    /// A nonce of a known value (tests, fuzzing).
    pub fn new(value: String) -> Self {
        Nonce(value)
    }

    /// The value to send. Do not log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this nonce, in time that does not depend on where they differ.
    pub fn matches(&self, other: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonce([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_compare_by_value_and_never_show() {
        let nonce = Nonce::new_random();
        let value = nonce.secret().to_string();
        assert!(nonce.matches(&value));
        assert!(!nonce.matches(&format!("{value}x")));
        assert!(!nonce.matches(""));
        assert!(!format!("{nonce:?}").contains(&value));
        assert_ne!(Nonce::new_random().secret(), value);
    }
}

/// A private key's PEM text, kept with an account's tokens (its DPoP key). Redacted in `Debug`
/// and wiped when dropped.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyPem(zeroize::Zeroizing<String>);

impl KeyPem {
    pub fn new(pem: &str) -> Self {
        KeyPem(zeroize::Zeroizing::new(pem.to_string()))
    }

    /// The PEM text. Do not log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for KeyPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPem([redacted])")
    }
}
