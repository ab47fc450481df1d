//! The signing keys Latchkey holds in the keychain: one DPoP key per account (RFC 9449) and a
//! profile's key for `private_key_jwt` client authentication (RFC 7523). Generated keys are
//! ES256 (P-256); an imported PEM may be P-256 (PKCS#8 or SEC1) or RSA (RS256). Kept as PEM
//! text; the JWTs are signed by `jsonwebtoken`, the P-256 keys made and read by `p256`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why a key cannot be used. Says nothing of the key's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

/// A private key and its public JWK. `Debug` shows the algorithm and the thumbprint only.
#[derive(Clone)]
pub struct SigningKey {
    pem: Zeroizing<String>,
    alg: Algorithm,
    key: EncodingKey,
    /// The public key's members, as RFC 7638 orders them for the thumbprint.
    public: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh P-256 key (ES256).
    pub fn generate() -> Self {
        loop {
            // 32 random bytes are a valid scalar except with probability ~2^-128; try again then.
            let bytes = Zeroizing::new(rand::random::<[u8; 32]>());
            if let Ok(secret) = p256::SecretKey::from_slice(bytes.as_slice())
                && let Ok(key) = Self::from_p256(&secret)
            {
                return key;
            }
        }
    }

    /// A key from PEM text: PKCS#8 (`PRIVATE KEY`) of a P-256 or RSA key, SEC1
    /// (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if let Ok(secret) = p256::SecretKey::from_pkcs8_pem(text) {
            return Self::from_p256(&secret);
        }
        if text.contains("BEGIN EC PRIVATE KEY") {
            let secret = p256::SecretKey::from_sec1_pem(text).map_err(|_| {
                KeyError("the EC key is not a P-256 key (ES256 needs the P-256 curve)".into())
            })?;
            return Self::from_p256(&secret);
        }
        if text.contains("PUBLIC KEY-----") || text.contains("CERTIFICATE-----") {
            return Err(KeyError(
                "this is a public key or a certificate: the client signs with its private key (the file that says PRIVATE KEY)".into(),
            ));
        }
        if text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            return Err(KeyError(
                "the key is encrypted; decrypt it first (`openssl pkey -in KEY -out PLAIN`)".into(),
            ));
        }
        let key = EncodingKey::from_rsa_pem(text.as_bytes()).map_err(|_| {
            KeyError(
                "not a PEM private key Latchkey can use: a P-256 (ES256) or RSA (RS256) key in \
                 PKCS#8, SEC1 or PKCS#1 form"
                    .into(),
            )
        })?;
        let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256)
            .map_err(|_| KeyError("the RSA key cannot be read".into()))?;
        let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = jwk.algorithm else {
            return Err(KeyError("the RSA key cannot be read".into()));
        };
        Ok(SigningKey {
            pem: Zeroizing::new(format!("{text}\n")),
            alg: Algorithm::RS256,
            key,
            public: json!({ "e": rsa.e, "kty": "RSA", "n": rsa.n }),
        })
    }

    fn from_p256(secret: &p256::SecretKey) -> Result<Self, KeyError> {
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError("the P-256 key cannot be encoded".into()))?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|_| KeyError("the P-256 key cannot be encoded".into()))?;
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(KeyError("the P-256 key has no public point".into()));
        };
        Ok(SigningKey {
            pem: Zeroizing::new(pem.to_string()),
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_der(der.as_bytes()),
            public: json!({
                "crv": "P-256", "kty": "EC",
                "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
            }),
        })
    }

    /// The PEM text to keep in the keychain.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// `ES256` or `RS256`.
    pub fn alg_name(&self) -> &'static str {
        match self.alg {
            Algorithm::RS256 => "RS256",
            _ => "ES256",
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): DPoP's `jkt`, and the `kid` Latchkey
    /// gives the key.
    pub fn thumbprint(&self) -> String {
        // RFC 7638 §3: the required members in lexicographic order, no whitespace. Sorted here
        // rather than trusting serde_json's map order (a crate feature can change it).
        let mut members: Vec<(&String, &Value)> = self
            .public
            .as_object()
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        members.sort_by(|a, b| a.0.cmp(b.0));
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
            .collect();
        let canonical = format!("{{{}}}", body.join(","));
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical))
    }

    /// The public JWK (no private member), with `alg`, `use` and `kid`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.public.clone();
        jwk["alg"] = self.alg_name().into();
        jwk["use"] = "sig".into();
        jwk["kid"] = self.thumbprint().into();
        jwk
    }

    /// A JWKS of this key alone, as an authorization server registers it.
    pub fn public_jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk()] })
    }

    /// A compact JWS of `claims` with `typ`; the header names the key by `kid`, or carries the
    /// public JWK itself (`embed_jwk`: DPoP proofs).
    pub fn sign(&self, typ: &str, claims: &Value, embed_jwk: bool) -> Result<String, KeyError> {
        let mut header = Header::new(self.alg);
        header.typ = Some(typ.to_string());
        if embed_jwk {
            let jwk = serde_json::from_value(self.public.clone())
                .map_err(|_| KeyError("the public key cannot be put in a JWK".into()))?;
            header.jwk = Some(jwk);
        } else {
            header.kid = Some(self.thumbprint());
        }
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|e| KeyError(format!("signing failed: {e}")))
    }
}

/// A fresh `jti`: 128 random bits, base64url.
pub fn random_jti() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    /// The claims of `jwt`, verified with the JWK in its header or else `key`'s public one.
    pub(crate) fn verify(key: &SigningKey, jwt: &str) -> Value {
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = match header.jwk {
            Some(jwk) => jwk,
            None => serde_json::from_value(key.public_jwk()).unwrap(),
        };
        let mut v = Validation::new(key.alg);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_aud = false;
        jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(&jwk).unwrap(), &v)
            .unwrap()
            .claims
    }

    #[test]
    fn generated_keys_sign_what_their_public_jwk_verifies() {
        let key = SigningKey::generate();
        let jwt = key.sign("dpop+jwt", &json!({"a": 1}), true).unwrap();
        assert_eq!(verify(&key, &jwt)["a"], 1);
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        // No private member leaves in the header or the JWKS.
        let jwks = key.public_jwks().to_string();
        assert!(!jwks.contains("\"d\""), "{jwks}");
        assert_ne!(key.thumbprint(), SigningKey::generate().thumbprint());
        // What the keychain keeps reads back as the same key.
        let again = SigningKey::from_pem(key.pem()).unwrap();
        assert_eq!(again.thumbprint(), key.thumbprint());
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn imported_keys_of_each_form_sign() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys");
        for (file, alg) in [("ec-p256.pem", "ES256"), ("rsa-a.pem", "RS256")] {
            let pem = std::fs::read_to_string(root.join(file)).unwrap();
            let key = SigningKey::from_pem(&pem).unwrap();
            assert_eq!(key.alg_name(), alg);
            let jwt = key.sign("JWT", &json!({"sub": "c"}), false).unwrap();
            assert_eq!(verify(&key, &jwt)["sub"], "c");
        }
        // SEC1, as `openssl ecparam -genkey` writes it.
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        let key = SigningKey::from_pem(&sec1).unwrap();
        assert_eq!(key.alg_name(), "ES256");
        let err =
            SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .unwrap_err();
        assert!(err.0.contains("P-256"), "{err}");
    }

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let key = SigningKey {
            public: json!({
                "e": "AQAB", "kty": "RSA",
                "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            }),
            ..SigningKey::generate()
        };
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
