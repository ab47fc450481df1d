//! id_token verification (OpenID Connect Core §3.1.3.7): the signature against the issuer's
//! published keys (JWKS) with an allow-list of algorithms, then the claims. The token header
//! never chooses how it is verified: its `alg` must be on the profile's list, and only keys of
//! the matching type from the issuer's JWKS are tried. Signatures are checked by `jsonwebtoken`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::model::secret::Nonce;
use crate::protocol::jwks::KeySet;

/// Default allowed clock difference between Latchkey and the provider.
pub const LEEWAY_SECONDS: i64 = 120;
/// A profile may widen the leeway up to this; more would make `exp` meaningless.
pub const MAX_LEEWAY_SECONDS: u64 = 600;

/// The algorithms Latchkey verifies. No `HS*`: a shared-secret MAC proves nothing about the
/// issuer, and accepting it is how tokens "signed" with the public key get through.
pub const SUPPORTED_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// OpenID Connect's default when discovery does not say (Discovery §3: RS256 must be supported).
pub const DEFAULT_ALGORITHM: &str = "RS256";

#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    /// Entra's tenant id, for its templated multi-tenant issuer.
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// What the check compares against.
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// A fresh sign-in: the nonce sent must come back.
    SignIn { nonce: &'a Nonce },
    /// A refresh: the nonce may be missing (servers drop it) and `sub` must stay the same.
    Refresh { subject: Option<&'a str> },
    /// A device flow sign-in (RFC 8628) or a password grant: no nonce is sent; the id_token
    /// comes straight from the token endpoint.
    Device,
}

/// The parts of the JOSE header that decide how a token is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
}

/// What an id_token is checked against, built by the profile it is for (as `openidconnect`'s
/// `IdTokenVerifier`), so that this module needs no profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The profile's name, for messages.
    pub profile: String,
    /// The issuer the token's `iss` must be (`None`: the profile has none, so no token passes).
    pub issuer: Option<String>,
    /// The token's audience must include it.
    pub client_id: String,
    /// The signature algorithms accepted (see [`allowed_algorithms`]).
    pub algorithms: Vec<String>,
    /// Whether discovery recorded the algorithms (otherwise they are the RS256 default).
    pub algorithms_discovered: bool,
    /// Allowed clock difference for `exp` and `iat`, in seconds.
    pub leeway: i64,
}

/// Why verification against a key set failed. `UnknownKey` is the one case worth fetching the
/// JWKS again for (the provider rotated its keys).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("{0}")]
    UnknownKey(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Claim(#[from] ClaimRejection),
}

/// Why a token's claims (or its `at_hash`) were refused, after its signature verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRejection {
    #[error("profile `{profile}` has no issuer to compare the token's `iss` with")]
    NoIssuer { profile: String },
    #[error("its issuer {iss:?} needs a `tid` claim to match the template {template:?}")]
    NoTenant { iss: String, template: String },
    #[error("its issuer is {iss:?}, expected {expected:?}")]
    Issuer { iss: String, expected: String },
    #[error("its audience {aud:?} does not include this client ({client_id})")]
    Audience { aud: Vec<String>, client_id: String },
    #[error("its authorized party (`azp`) is not this client")]
    AuthorizedParty,
    #[error("it expired {ago} s ago (leeway {leeway} s); check the clock of this computer")]
    Expired { ago: i64, leeway: i64 },
    #[error(
        "it was issued {ahead} s in the future (leeway {leeway} s); check the clock of this computer"
    )]
    IssuedInFuture { ahead: i64, leeway: i64 },
    #[error("its nonce does not match the one this sign-in sent (a replayed or injected token)")]
    NonceMismatch,
    #[error("it carries no nonce although this sign-in sent one (a replayed or injected token)")]
    NonceMissing,
    #[error("its subject changed from {from:?} to {to:?}")]
    SubjectChanged { from: String, to: String },
    #[error("Latchkey cannot compute at_hash for {0}")]
    AtHashUnsupported(String),
    #[error("its at_hash does not match the access token that came with it")]
    AtHashMismatch,
    #[error(
        "it has no at_hash, which binds it to the access token (OpenID Connect Core §3.2.2.10)"
    )]
    AtHashMissing,
    /// The token is not a well-formed JWT (its header or payload).
    #[error("{0}")]
    Malformed(String),
}

/// Reads the JOSE header of a compact JWS without judging it.
pub fn header(jwt: &str) -> std::result::Result<Header, String> {
    let (head, _) = split(jwt)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(head)
        .map_err(|_| "its header is not base64url".to_string())?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|_| "its header is not JSON".to_string())?;
    let alg = match value.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        _ => return Err("its header names no algorithm (`alg`)".into()),
    };
    if value.get("crit").is_some() {
        // RFC 7515 §4.1.11: extensions we do not implement must make the token invalid.
        return Err(
            "its header has critical extensions (`crit`) Latchkey does not implement".into(),
        );
    }
    let kid = match value.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err("its header's `kid` is not a string".into()),
    };
    Ok(Header { alg, kid })
}

fn split(jwt: &str) -> std::result::Result<(&str, &str), String> {
    let mut parts = jwt.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(_), None) if !h.is_empty() && !p.is_empty() => Ok((h, p)),
        _ => Err("it is not a compact JWS (three dot-separated parts)".into()),
    }
}

/// OpenID Connect Core §3.2.2.9: an id_token that comes with an access token from the
/// authorization endpoint (implicit) carries `at_hash`, the left half of the hash of the access
/// token (the hash of the token's signature algorithm), which binds the two. Call after the
/// signature was verified.
pub fn check_at_hash(jwt: &str, access_token: &str) -> Result<(), ClaimRejection> {
    use sha2::Digest;
    let alg = header(jwt).map_err(ClaimRejection::Malformed)?.alg;
    let digest = match alg.get(2..).filter(|_| alg != "EdDSA") {
        Some("256") => sha2::Sha256::digest(access_token.as_bytes()).to_vec(),
        Some("384") => sha2::Sha384::digest(access_token.as_bytes()).to_vec(),
        // EdDSA with Ed25519 (the one curve verified) hashes with SHA-512.
        Some("512") | None if alg == "EdDSA" || alg.ends_with("512") => {
            sha2::Sha512::digest(access_token.as_bytes()).to_vec()
        }
        _ => return Err(ClaimRejection::AtHashUnsupported(alg)),
    };
    let expected = URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]);
    let (_, payload) = split(jwt).map_err(ClaimRejection::Malformed)?;
    let value: Value = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| ClaimRejection::Malformed("its payload is not base64url JSON".into()))?;
    match value.get("at_hash").and_then(Value::as_str) {
        Some(got) if got == expected => Ok(()),
        Some(_) => Err(ClaimRejection::AtHashMismatch),
        None => Err(ClaimRejection::AtHashMissing),
    }
}

/// Reads the claims of a compact JWT without judging them (for display and for fuzzing; never
/// for trusting: see [`verify`]).
pub fn decode(jwt: &str) -> std::result::Result<Claims, String> {
    let (_, payload) = split(jwt)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "its payload is not base64url".to_string())?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|_| "its payload is not JSON".to_string())?;
    claims(value)
}

fn claims(value: Value) -> std::result::Result<Claims, String> {
    serde_json::from_value(value).map_err(|e| {
        format!(
            "its claims are incomplete: {}",
            crate::model::untrusted::sanitize(&e.to_string())
        )
    })
}

/// The algorithms a profile accepts: what discovery advertised (RS256 when it said nothing),
/// narrowed to what Latchkey supports.
pub fn allowed_algorithms(advertised: &[String]) -> Vec<String> {
    if advertised.is_empty() {
        return vec![DEFAULT_ALGORITHM.to_string()];
    }
    advertised
        .iter()
        .filter(|a| SUPPORTED_ALGORITHMS.contains(&a.as_str()))
        .cloned()
        .collect()
}

fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Whether a JWK can verify `alg`: the key type and curve must fit, and a key that names its
/// own algorithm must name this one.
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let type_fits = match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => true,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    type_fits
        && jwk
            .common
            .key_algorithm
            .is_none_or(|k| k == jsonwebtoken::jwk::KeyAlgorithm::from(alg))
}

impl Verifier {
    /// Checks the header against the profile's algorithms before any key is looked at, so
    /// `none` and `HS256` are refused without a network request.
    pub fn check_header(&self, jwt: &str) -> Result<(Header, Algorithm), Rejection> {
        let header = header(jwt).map_err(Rejection::Invalid)?;
        let allowed = &self.algorithms;
        match algorithm(&header.alg) {
            Some(alg) if allowed.contains(&header.alg) => Ok((header, alg)),
            _ => {
                let why = if header.alg == "none" {
                    " (an unsigned token)"
                } else if header.alg.starts_with("HS") {
                    " (a shared-secret MAC, not the issuer's signature)"
                } else {
                    ""
                };
                let hint = if self.algorithms_discovered {
                    ""
                } else {
                    ". If the provider really signs with it, add the profile again so discovery records its algorithms"
                };
                Err(Rejection::Invalid(format!(
                    "it is signed with `{}`{why}, and profile `{}` accepts only {}{hint}",
                    header.alg,
                    self.profile,
                    if allowed.is_empty() {
                        "algorithms Latchkey does not support".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )))
            }
        }
    }

    /// Verifies the signature of `jwt` with the issuer's keys and returns its claims, unjudged.
    pub fn verify_signature(&self, jwt: &str, keys: &KeySet) -> Result<Value, Rejection> {
        let (header, alg) = self.check_header(jwt)?;
        let candidates: Vec<&Jwk> = keys
            .keys()
            .iter()
            .filter(|k| header.kid.is_none() || k.common.key_id == header.kid)
            .filter(|k| key_fits(k, alg))
            .collect();
        if candidates.is_empty() {
            return Err(Rejection::UnknownKey(match &header.kid {
                Some(kid) => format!(
                    "the issuer's key set has no {} key with id {kid:?}",
                    header.alg
                ),
                None => format!("the issuer's key set has no {} key", header.alg),
            }));
        }
        let mut validation = Validation::new(alg);
        // Claims are checked by `check_claims`, with Latchkey's own messages and leeway.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        for jwk in candidates {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            if let Ok(data) = jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
                return Ok(data.claims);
            }
        }
        Err(Rejection::Invalid(format!(
            "its {} signature does not verify with the issuer's key{}",
            header.alg,
            header
                .kid
                .as_deref()
                .map(|k| format!(" {k:?}"))
                .unwrap_or_default()
        )))
    }

    /// Signature, then claims.
    pub fn verify(
        &self,
        jwt: &str,
        keys: &KeySet,
        expect: Expect<'_>,
        now: i64,
    ) -> Result<Claims, Rejection> {
        let value = self.verify_signature(jwt, keys)?;
        let claims = claims(value).map_err(Rejection::Invalid)?;
        self.check_claims(&claims, expect, now)?;
        Ok(claims)
    }

    /// The claim checks of OpenID Connect Core §3.1.3.7, after the signature.
    pub fn check_claims(
        &self,
        claims: &Claims,
        expect: Expect<'_>,
        now: i64,
    ) -> Result<(), ClaimRejection> {
        let leeway = self.leeway;
        let Some(issuer) = &self.issuer else {
            return Err(ClaimRejection::NoIssuer {
                profile: self.profile.clone(),
            });
        };
        let templated = issuer.contains("{tenantid}");
        if templated && claims.tid.is_none() {
            return Err(ClaimRejection::NoTenant {
                iss: claims.iss.clone(),
                template: issuer.clone(),
            });
        }
        if !issuer_matches(issuer, &claims.iss, claims.tid.as_deref()) {
            return Err(ClaimRejection::Issuer {
                iss: claims.iss.clone(),
                expected: issuer.clone(),
            });
        }
        if !claims.aud.contains(&self.client_id) {
            return Err(ClaimRejection::Audience {
                aud: claims.aud.clone(),
                client_id: self.client_id.clone(),
            });
        }
        // §3.1.3.7 items 4 and 5: with several audiences `azp` must be us; when present, always.
        if (claims.aud.len() > 1 || claims.azp.is_some())
            && claims.azp.as_deref() != Some(self.client_id.as_str())
        {
            return Err(ClaimRejection::AuthorizedParty);
        }
        if claims.exp.saturating_add(leeway) <= now {
            return Err(ClaimRejection::Expired {
                ago: now.saturating_sub(claims.exp),
                leeway,
            });
        }
        if let Some(iat) = claims.iat.filter(|iat| *iat > now.saturating_add(leeway)) {
            return Err(ClaimRejection::IssuedInFuture {
                ahead: iat.saturating_sub(now),
                leeway,
            });
        }
        match expect {
            Expect::SignIn { nonce } => match claims.nonce.as_deref() {
                Some(got) if nonce.matches(got) => {}
                Some(_) => return Err(ClaimRejection::NonceMismatch),
                None => return Err(ClaimRejection::NonceMissing),
            },
            Expect::Refresh { subject } => {
                if let Some(subject) = subject
                    && claims.sub != subject
                {
                    return Err(ClaimRejection::SubjectChanged {
                        from: subject.to_string(),
                        to: claims.sub.clone(),
                    });
                }
            }
            Expect::Device => {}
        }
        Ok(())
    }
}

/// Whether `got` is the issuer `expected`. Entra's multi-tenant discovery documents name the
/// template `https://login.microsoftonline.com/{tenantid}/v2.0`: a token matches it when the
/// template with its own tenant id (`tid`, when given) filled in is exactly its issuer.
pub fn issuer_matches(expected: &str, got: &str, tid: Option<&str>) -> bool {
    if expected == got {
        return true;
    }
    const TEMPLATE: &str = "{tenantid}";
    let Some((before, after)) = expected.split_once(TEMPLATE) else {
        return false;
    };
    let Some(tenant) = got
        .strip_prefix(before)
        .and_then(|rest| rest.strip_suffix(after))
    else {
        return false;
    };
    let plausible = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    plausible && tid.is_none_or(|t| t == tenant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::profile::Profile;

    fn n1() -> Nonce {
        Nonce::new("n1".into())
    }

    fn profile() -> Profile {
        Profile {
            issuer: Some("https://issuer.example".into()),
            scopes: vec!["openid".into()],
            auth_method: Default::default(),
            ..Profile::for_tests("p")
        }
    }

    fn good() -> Value {
        serde_json::json!({"iss":"https://issuer.example","sub":"u1","aud":"client","exp":2000,"iat":1000,"nonce":"n1","email":"a@b"})
    }

    fn check_with(key: &str, value: Value) -> std::result::Result<(), String> {
        let mut c = good();
        c[key] = value;
        if c[key].is_null() {
            c.as_object_mut().unwrap().remove(key);
        }
        profile()
            .id_token_verifier()
            .check_claims(
                &claims(c).map_err(|e| e.to_string())?,
                Expect::SignIn { nonce: &n1() },
                1500,
            )
            .map_err(|e| e.to_string())
    }

    #[test]
    fn good_claims_pass() {
        assert_eq!(check_with("email", "x@y".into()), Ok(()));
    }

    #[test]
    fn each_claim_defect_is_refused() {
        for (key, value, needle) in [
            ("iss", serde_json::json!("https://evil"), "issuer"),
            ("aud", serde_json::json!("other"), "audience"),
            ("aud", serde_json::json!(["client", "other"]), "azp"),
            ("azp", serde_json::json!("other"), "azp"),
            ("exp", serde_json::json!(1000), "expired"),
            ("iat", serde_json::json!(9999), "future"),
            ("nonce", serde_json::json!("n2"), "nonce does not match"),
            ("nonce", Value::Null, "no nonce"),
            ("exp", serde_json::json!("never"), "incomplete"),
        ] {
            let err = check_with(key, value).unwrap_err();
            assert!(err.contains(needle), "{key}: {err}");
        }
    }

    #[test]
    fn the_leeway_is_two_minutes_by_default_and_per_profile() {
        // exp 2000: accepted until now = 2119, refused from 2120.
        let c = claims(good()).unwrap();
        let n1 = n1();
        let nonce = Expect::SignIn { nonce: &n1 };
        let v = profile().id_token_verifier();
        assert!(v.check_claims(&c, nonce, 2119).is_ok());
        assert!(v.check_claims(&c, nonce, 2120).is_err());
        // iat 1000: accepted from now = 880, refused at 879.
        assert!(v.check_claims(&c, nonce, 880).is_ok());
        assert!(v.check_claims(&c, nonce, 879).is_err());
        let mut wide = profile();
        wide.id_token_leeway_seconds = Some(300);
        let wide = wide.id_token_verifier();
        assert!(wide.check_claims(&c, nonce, 2299).is_ok());
        assert!(wide.check_claims(&c, nonce, 2300).is_err());
    }

    #[test]
    fn refreshed_tokens_may_drop_the_nonce_but_not_change_subject() {
        let mut c = good();
        c.as_object_mut().unwrap().remove("nonce");
        let c = claims(c).unwrap();
        let refresh = |s| Expect::Refresh { subject: Some(s) };
        assert!(
            profile()
                .id_token_verifier()
                .check_claims(&c, refresh("u1"), 1500)
                .is_ok()
        );
        let err = profile()
            .id_token_verifier()
            .check_claims(&c, refresh("u2"), 1500)
            .unwrap_err();
        assert!(err.to_string().contains("subject"), "{err}");
    }

    #[test]
    fn entra_templated_issuers_match_only_their_own_tenant() {
        let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
        let iss = format!("https://login.microsoftonline.com/{tid}/v2.0");
        assert!(issuer_matches(t, &iss, Some(tid)));
        assert!(!issuer_matches(t, &iss, Some("other-tenant")));
        assert!(!issuer_matches(t, "https://evil.example/x/v2.0", Some("x")));
        assert!(!issuer_matches(
            t,
            "https://login.microsoftonline.com/a/b/v2.0",
            None
        ));
        assert!(!issuer_matches(
            "https://a.example",
            "https://a.example/",
            None
        ));
        let mut p = profile();
        p.issuer = Some(t.into());
        let mut c = good();
        c["iss"] = iss.clone().into();
        let n1 = n1();
        let nonce = Expect::SignIn { nonce: &n1 };
        let no_tid = claims(c.clone()).unwrap();
        assert!(
            p.id_token_verifier()
                .check_claims(&no_tid, nonce, 1500)
                .unwrap_err()
                .to_string()
                .contains("tid")
        );
        c["tid"] = tid.into();
        assert!(
            p.id_token_verifier()
                .check_claims(&claims(c).unwrap(), nonce, 1500)
                .is_ok()
        );
    }

    #[test]
    fn at_hash_binds_the_access_token() {
        // The left half of SHA-256 of the token, base64url (computed independently with Python's
        // hashlib).
        let at = "jHkWEdUXMU1BwAsC4vtUsZwnNNrqm2oR3l1cPUk3Ofs";
        let payload = |claims: Value| URL_SAFE_NO_PAD.encode(claims.to_string());
        let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
        let jwt = |claims: Value| format!("{head}.{}.sig", payload(claims));
        let good = jwt(serde_json::json!({"at_hash": "JZics1AirQdFV9S8xXC84g"}));
        assert_eq!(check_at_hash(&good, at), Ok(()));
        assert!(check_at_hash(&good, &format!("{at}x")).is_err());
        assert!(check_at_hash(&jwt(serde_json::json!({})), at).is_err());
    }

    #[test]
    fn headers_choose_nothing() {
        let enc = |v: Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());
        let token = |h: Value| format!("{}.{}.sig", enc(h), enc(good()));
        let p = profile();
        for (h, needle) in [
            (serde_json::json!({"alg":"none"}), "unsigned"),
            (serde_json::json!({"alg":"HS256"}), "shared-secret"),
            (serde_json::json!({"alg":"ES256"}), "accepts only RS256"),
            (serde_json::json!({"typ":"JWT"}), "no algorithm"),
            (serde_json::json!({"alg":"RS256","crit":["x"]}), "crit"),
        ] {
            let err = match p.id_token_verifier().check_header(&token(h.clone())) {
                Err(Rejection::Invalid(e)) => e,
                other => panic!("{h}: {other:?}"),
            };
            assert!(err.contains(needle), "{h}: {err}");
        }
        // A hand-edited profile cannot opt into HS256.
        let mut hs = profile();
        hs.id_token_signing_alg_values_supported = vec!["HS256".into(), "ES256".into()];
        assert_eq!(hs.id_token_verifier().algorithms, ["ES256"]);
        assert!(
            hs.id_token_verifier()
                .check_header(&token(serde_json::json!({"alg":"HS256"})))
                .is_err()
        );
        assert!(p.id_token_verifier().check_header("abc").is_err());
    }
}
