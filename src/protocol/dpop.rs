//! DPoP proofs (RFC 9449): a JWT signed by the account's key, naming the request it goes with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use super::keys::{KeyError, SigningKey, random_jti};

/// The `DPoP` header's name.
pub const HEADER: &str = "DPoP";
/// The header a server sends its nonce in (RFC 9449 §8).
pub const NONCE_HEADER: &str = "DPoP-Nonce";
/// The error that asks for a proof with the server's nonce (RFC 9449 §8, §9).
pub const USE_NONCE: &str = "use_dpop_nonce";

/// What a proof is for: the request's method and URL, the server's nonce when it gave one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProofTarget {
    pub method: String,
    pub url: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// A proof for `target`: `jti`, `htm`, `htu` (the URL without query and fragment, §4.2), `iat`,
/// the server's `nonce`, and `ath` (the access token's SHA-256) when it goes with a token.
pub fn proof(
    key: &SigningKey,
    target: &ProofTarget,
    access_token: Option<&str>,
) -> Result<String, KeyError> {
    let mut htu = target.url.clone();
    htu.set_query(None);
    htu.set_fragment(None);
    let _ = htu.set_username("");
    let _ = htu.set_password(None);
    let mut claims = json!({
        "jti": random_jti(),
        "htm": target.method.to_ascii_uppercase(),
        "htu": htu.as_str(),
        "iat": crate::model::tokens::now(),
    });
    if let Some(nonce) = &target.nonce {
        claims["nonce"] = nonce.as_str().into();
    }
    if let Some(token) = access_token {
        claims["ath"] = URL_SAFE_NO_PAD.encode(Sha256::digest(token)).into();
    }
    key.sign("dpop+jwt", &claims, true)
}

/// The nonce a `WWW-Authenticate: DPoP error="use_dpop_nonce"` or token-endpoint error answer
/// asks for: its `DPoP-Nonce` header, when it is printable and short.
pub fn nonce_from(headers: &oauth2::http::HeaderMap) -> Option<String> {
    let nonce = headers.get(NONCE_HEADER)?.to_str().ok()?;
    // RFC 9449 §8.1: NQCHAR, i.e. printable ASCII without `"` and `\`.
    (!nonce.is_empty()
        && nonce.len() <= 1024
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\'))
    .then(|| nonce.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_name_the_request_and_bind_the_token() {
        let key = SigningKey::generate();
        let target = ProofTarget {
            method: "get".into(),
            url: "https://u:p@rs.example/api/x?y=1#f".parse().unwrap(),
            nonce: Some("n-1".into()),
        };
        let jwt = proof(&key, &target, Some("at")).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        assert!(header.jwk.is_some(), "the proof carries its public key");
        let claims = crate::protocol::keys::tests::verify(&key, &jwt);
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://rs.example/api/x");
        assert_eq!(claims["nonce"], "n-1");
        // RFC 9449 §4.2: ath = base64url(SHA-256(ASCII(access token))).
        assert_eq!(claims["ath"], URL_SAFE_NO_PAD.encode(Sha256::digest("at")));
        let again = proof(&key, &target, None).unwrap();
        assert_ne!(again, jwt);
    }

    #[test]
    fn nonces_are_taken_only_when_well_formed() {
        let mut h = oauth2::http::HeaderMap::new();
        assert_eq!(nonce_from(&h), None);
        h.insert(NONCE_HEADER, "abc-123_x".parse().unwrap());
        assert_eq!(nonce_from(&h).as_deref(), Some("abc-123_x"));
        h.insert(NONCE_HEADER, "a\"b".parse().unwrap());
        assert_eq!(nonce_from(&h), None);
    }
}
