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
        self.set_client_secret_entry(&profile.name, &secret).await
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
