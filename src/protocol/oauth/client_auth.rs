//! Client authentication by key (RFC 7523 `private_key_jwt`, OpenID Connect Core §9): the
//! signed assertion that stands in for a client secret on token, refresh, revocation, device
//! and pushed authorization requests. The keychain holds the key's PEM where a secret would be.

use oauth2::ClientSecret;
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::profile::{AuthMethod, Profile};
use crate::protocol::keys::{SigningKey, random_jti};

/// RFC 7523 §2.2's `client_assertion_type`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is good for: one request's round trip, with room for clock skew.
const LIFETIME: i64 = 60;

/// The profile's client key, read from what the keychain holds for it.
pub fn client_key(profile: &Profile, secret: Option<&ClientSecret>) -> Result<SigningKey> {
    let secret = secret.ok_or_else(|| {
        Error::InvalidInput(format!(
            "profile `{}` authenticates with a private key (private_key_jwt), and the keychain holds none for it; add the profile again with --private-key-file",
            profile.name
        ))
    })?;
    SigningKey::from_pem(secret.secret()).map_err(|e| {
        Error::InvalidInput(format!(
            "the private key of profile `{}` in the keychain cannot be used: {e}",
            profile.name
        ))
    })
}

/// The form parameters that authenticate `profile`'s client by key, none for other methods:
/// `iss` = `sub` = the client id, `aud` = the token endpoint (which RFC 9126 §2 has the PAR
/// endpoint accept too), a fresh `jti`, a minute of validity.
pub fn assertion_params(
    profile: &Profile,
    secret: Option<&ClientSecret>,
) -> Result<Vec<(&'static str, String)>> {
    if profile.auth_method != AuthMethod::PrivateKeyJwt {
        return Ok(Vec::new());
    }
    let key = client_key(profile, secret)?;
    let now = crate::model::tokens::now();
    let claims = json!({
        "iss": profile.client_id, "sub": profile.client_id,
        "aud": profile.token_endpoint.as_str(),
        "jti": random_jti(), "iat": now, "exp": now + LIFETIME,
    });
    let jwt = key.sign("JWT", &claims, false).map_err(|e| {
        Error::InvalidInput(format!(
            "cannot sign the client assertion of profile `{}`: {e}",
            profile.name
        ))
    })?;
    Ok(vec![
        ("client_assertion_type", ASSERTION_TYPE.to_string()),
        ("client_assertion", jwt),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertions_name_the_client_and_the_token_endpoint() {
        let profile = Profile {
            auth_method: AuthMethod::PrivateKeyJwt,
            ..Profile::for_tests("p")
        };
        // A key-authenticated client's key is kept as its secret.
        let key = SigningKey::generate();
        let secret = ClientSecret::new(key.pem().to_string());
        let params = assertion_params(&profile, Some(&secret)).unwrap();
        assert_eq!(params[0], ("client_assertion_type", ASSERTION_TYPE.into()));
        let claims = crate::protocol::keys::tests::verify(&key, &params[1].1);
        assert_eq!(claims["aud"], "https://as.example/token");
        let exp = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(exp, 60);
        assert_eq!(claims["iss"], "client");
        assert_eq!(claims["sub"], "client");
        let header = jsonwebtoken::decode_header(&params[1].1).unwrap();
        assert_eq!(header.kid, Some(key.thumbprint()));
        // No key: a clear error, not a request without authentication.
        let err = assertion_params(&profile, None).unwrap_err();
        assert!(err.to_string().contains("--private-key-file"), "{err}");
        // Secret-based methods add nothing.
        let basic = Profile::for_tests("p");
        assert!(assertion_params(&basic, Some(&secret)).unwrap().is_empty());
    }
}
