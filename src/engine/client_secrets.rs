//! What the keychain holds for a client: its secret, or the key of a `private_key_jwt` client
//! (RFC 7523), checked or made at `profile add`, with its public half for the provider.

use oauth2::ClientSecret;

use super::{Latchkey, secret_key};
use crate::error::{Error, Result};
use crate::model::profile::AuthMethod;
use crate::protocol::keys::SigningKey;
use crate::protocol::oauth::client_auth;

impl Latchkey {
    /// Replaces the client secret of an existing profile.
    pub async fn set_client_secret(&self, profile: &str, secret: ClientSecret) -> Result<()> {
        let profile = self.config.profile(profile)?;
        if !profile.auth_method.needs_secret() {
            return Err(Error::InvalidInput(format!(
                "profile `{}` is a public client (auth_method none) and uses no secret",
                profile.name
            )));
        }
        let checked = client_key(Some(profile.auth_method), Some(secret), false)?;
        match checked {
            Some(secret) => self.set_client_secret_entry(&profile.name, &secret).await,
            None => Ok(()),
        }
    }

    pub(super) async fn set_client_secret_entry(
        &self,
        profile: &str,
        secret: &ClientSecret,
    ) -> Result<()> {
        Ok(self
            .keychain
            .set(&secret_key(profile), secret.secret().as_bytes().to_vec())
            .await?)
    }

    /// The public JWKS of a `private_key_jwt` profile's key: what to register at the provider.
    pub async fn client_public_jwks(&self, name: &str) -> Result<serde_json::Value> {
        let profile = self.config.profile(name)?;
        if profile.auth_method != AuthMethod::PrivateKeyJwt {
            return Err(Error::InvalidInput(format!(
                "profile `{name}` authenticates with `{}`, not a private key: it has no JWKS",
                profile.auth_method.as_str()
            )));
        }
        let secret = self.client_secret(&profile).await?;
        Ok(client_auth::client_key(&profile, secret.as_ref())?.public_jwks())
    }
}

/// What the keychain holds for a `private_key_jwt` client: the key given (checked), or a new
/// one when none was and `generate`. Other methods' secrets pass unchanged.
pub(super) fn client_key(
    method: Option<AuthMethod>,
    secret: Option<ClientSecret>,
    generate: bool,
) -> Result<Option<ClientSecret>> {
    if method != Some(AuthMethod::PrivateKeyJwt) {
        // A key is never sent as a secret (in a Basic header or a form, to the provider).
        if secret.as_ref().is_some_and(|s| is_private_key(s.secret())) {
            return Err(Error::InvalidInput(
                "that is a private key, not a client secret: a key authenticates the client with --auth-method private-key-jwt, and is never sent"
                    .into(),
            ));
        }
        return Ok(secret);
    }
    match secret {
        Some(pem) => {
            let key = SigningKey::from_pem(pem.secret())
                .map_err(|e| Error::InvalidInput(format!("the private key: {e}")))?;
            Ok(Some(ClientSecret::new(key.pem().to_string())))
        }
        None if generate => Ok(Some(ClientSecret::new(
            SigningKey::generate().pem().to_string(),
        ))),
        None => Ok(None),
    }
}

/// Whether `text` holds a PEM private key.
pub(crate) fn is_private_key(text: &str) -> bool {
    text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_key_is_never_taken_as_a_secret() {
        let pem = ClientSecret::new(SigningKey::generate().pem().to_string());
        for method in [None, Some(AuthMethod::Basic), Some(AuthMethod::Post)] {
            let err = client_key(method, Some(pem.clone()), false).unwrap_err();
            assert!(err.to_string().contains("private-key-jwt"), "{err}");
        }
        assert!(client_key(Some(AuthMethod::PrivateKeyJwt), Some(pem), false).is_ok());
        let plain = ClientSecret::new("s3cret".into());
        assert!(client_key(Some(AuthMethod::Basic), Some(plain), false).is_ok());
    }
}
