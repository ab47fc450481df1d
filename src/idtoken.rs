//! id_token claim checks (OpenID Connect Core §3.1.3.7). The token comes straight from the token
//! endpoint over TLS, which §3.1.3.7 item 6 accepts in place of a signature check for the code
//! flow; the claims are still checked so a token minted for another client, another issuer or
//! another sign-in is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::profile::Profile;

/// Allowed clock difference between Latchkey and the provider.
pub const LEEWAY_SECONDS: i64 = 120;

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
pub enum Expect<'a> {
    /// A fresh sign-in: the nonce sent must come back.
    SignIn { nonce: &'a str },
    /// A refresh: the nonce may be missing (servers drop it) and `sub` must stay the same.
    Refresh { subject: Option<&'a str> },
}

/// Reads the claims of a compact JWT without judging them.
pub fn decode(jwt: &str) -> std::result::Result<Claims, String> {
    let mut parts = jwt.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("it is not a compact JWT (three dot-separated parts)".into());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "its payload is not base64url".to_string())?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|_| "its payload is not JSON".to_string())?;
    serde_json::from_value(value).map_err(|e| format!("its claims are incomplete: {e}"))
}

pub fn check(profile: &Profile, jwt: &str, expect: Expect<'_>, now: i64) -> Result<Claims> {
    let fail = |detail: String| Error::IdToken {
        profile: profile.name.clone(),
        detail,
    };
    let claims = decode(jwt).map_err(fail)?;
    if let Some(issuer) = &profile.issuer
        && claims.iss != *issuer
    {
        return Err(fail(format!(
            "its issuer is {:?}, expected {issuer:?}",
            claims.iss
        )));
    }
    if !claims.aud.contains(&profile.client_id) {
        return Err(fail(format!(
            "its audience {:?} does not include this client ({})",
            claims.aud, profile.client_id
        )));
    }
    if claims.aud.len() > 1 && claims.azp.as_deref() != Some(profile.client_id.as_str()) {
        return Err(fail(
            "it has several audiences and its `azp` is not this client".into(),
        ));
    }
    if claims.exp + LEEWAY_SECONDS <= now {
        return Err(fail(format!(
            "it expired {} s ago; check the clock of this computer",
            now - claims.exp
        )));
    }
    if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECONDS) {
        return Err(fail(
            "it was issued in the future; check the clock of this computer".into(),
        ));
    }
    match expect {
        Expect::SignIn { nonce } => {
            if claims.nonce.as_deref() != Some(nonce) {
                return Err(fail(
                    "its nonce does not match the one this sign-in sent (a replayed or injected token)"
                        .into(),
                ));
            }
        }
        Expect::Refresh { subject } => {
            if let Some(subject) = subject
                && claims.sub != subject
            {
                return Err(fail(format!(
                    "its subject changed from {subject:?} to {:?}",
                    claims.sub
                )));
            }
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!(
            "{}.{}.sig",
            enc(&serde_json::json!({"alg":"RS256"})),
            enc(&claims)
        )
    }

    fn profile() -> Profile {
        Profile {
            name: "p".into(),
            client_id: "client".into(),
            issuer: Some("https://issuer.example".into()),
            authorization_endpoint: "https://issuer.example/a".parse().unwrap(),
            token_endpoint: "https://issuer.example/t".parse().unwrap(),
            revocation_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            scopes: vec!["openid".into()],
            auth_method: Default::default(),
            redirect: Default::default(),
            redirect_uri: None,
            authorization_response_iss_parameter_supported: false,
        }
    }

    fn good() -> Value {
        serde_json::json!({"iss":"https://issuer.example","sub":"u1","aud":"client","exp":2000,"iat":1000,"nonce":"n1","email":"a@b"})
    }

    fn check_with(mut claims: Value, key: &str, value: Value) -> Result<Claims> {
        claims[key] = value;
        check(
            &profile(),
            &jwt(claims),
            Expect::SignIn { nonce: "n1" },
            1500,
        )
    }

    #[test]
    fn a_good_token_passes() {
        let c = check(
            &profile(),
            &jwt(good()),
            Expect::SignIn { nonce: "n1" },
            1500,
        )
        .unwrap();
        assert_eq!(c.email.as_deref(), Some("a@b"));
    }

    #[test]
    fn each_defect_is_refused() {
        for (key, value, needle) in [
            ("iss", serde_json::json!("https://evil"), "issuer"),
            ("aud", serde_json::json!("other"), "audience"),
            ("aud", serde_json::json!(["client", "other"]), "azp"),
            ("exp", serde_json::json!(1000), "expired"),
            ("iat", serde_json::json!(9999), "future"),
            ("nonce", serde_json::json!("n2"), "nonce"),
            ("nonce", Value::Null, "nonce"),
        ] {
            let err = check_with(good(), key, value).unwrap_err().to_string();
            assert!(err.contains(needle), "{key}: {err}");
        }
        assert!(check(&profile(), "abc", Expect::SignIn { nonce: "n1" }, 0).is_err());
    }

    #[test]
    fn refreshed_tokens_may_drop_the_nonce_but_not_change_subject() {
        let mut claims = good();
        claims.as_object_mut().unwrap().remove("nonce");
        let token = jwt(claims);
        assert!(
            check(
                &profile(),
                &token,
                Expect::Refresh {
                    subject: Some("u1")
                },
                1500
            )
            .is_ok()
        );
        let err = check(
            &profile(),
            &token,
            Expect::Refresh {
                subject: Some("u2"),
            },
            1500,
        )
        .unwrap_err();
        assert!(err.to_string().contains("subject"));
    }
}
