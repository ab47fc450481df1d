//! Bodies quoted in error messages: a short start of them, with anything that may be a
//! credential masked (a broken response may still carry one).

use serde_json::Value;

/// The start of a body for an error message, with anything token-shaped masked: a broken
/// response may still carry a credential.
pub fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return "empty body".into();
    }
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.len() >= 16 {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars().take(240) {
        if c.is_ascii_alphanumeric() || "-_.~+/=".contains(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(if c.is_whitespace() { ' ' } else { c });
        }
    }
    flush(&mut word, &mut out);
    let mut collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 240 {
        collapsed.push('…');
    }
    format!("`{}`", crate::model::untrusted::sanitize(&collapsed))
}

/// [`excerpt`] of a body that may be a JSON object, with the values of credential-bearing
/// members (`*_token`, `*secret*`, `*key*`, `*password*`, `*code`, `assertion`) masked whatever
/// their length: short secrets such as a `mac_key` do not look token-shaped. Other bodies get
/// the plain [`excerpt`].
pub fn masked_excerpt(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut value @ Value::Object(_)) => {
            mask_credentials(&mut value);
            excerpt(&serde_json::to_vec(&value).unwrap_or_default())
        }
        _ => excerpt(body),
    }
}

fn mask_credentials(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_credential_name(k) && !v.is_null() {
                    *v = Value::String("[redacted]".into());
                } else {
                    mask_credentials(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_credentials),
        _ => {}
    }
}

fn is_credential_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "token"
        || name.ends_with("_token")
        || name.ends_with("code")
        || name == "assertion"
        || ["secret", "key", "password"]
            .iter()
            .any(|w| name.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_excerpts_mask_credentials_whatever_their_length() {
        let e = masked_excerpt(
            br#"{"access_token":"at","token_type":"MAC","mac_key":"k1","expires_in":5,"nested":{"client_secret":"s"},"device_code":"dc","scope":"a b"}"#,
        );
        for shown in [
            r#""token_type":"MAC""#,
            r#""expires_in":5"#,
            r#""scope":"a b""#,
            r#""access_token":"[redacted]""#,
            r#""mac_key":"[redacted]""#,
            r#""client_secret":"[redacted]""#,
            r#""device_code":"[redacted]""#,
        ] {
            assert!(e.contains(shown), "{shown} not in {e}");
        }
        for hidden in [r#""at""#, r#""k1""#, r#""s""#, r#""dc""#] {
            assert!(!e.contains(hidden), "{hidden} in {e}");
        }
        // Not JSON: the plain excerpt.
        assert_eq!(masked_excerpt(b"plain words"), excerpt(b"plain words"));
    }

    #[test]
    fn excerpts_mask_token_shaped_words() {
        let e = excerpt(b"error: token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig is bad");
        assert!(e.contains("[redacted]") && e.contains("is bad"), "{e}");
        assert!(!e.contains("eyJhbGci"));
    }
}
