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
