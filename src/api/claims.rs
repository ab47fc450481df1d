//! An id_token's claims as a front end shows them.

use serde_json::{Map, Value};

/// Every claim of `id_token`, decoded for reading: NOT verified (the engine verified the token
/// when it stored it). `None` when it is not a JWT with a JSON object payload.
pub fn claims_for_display(id_token: &crate::model::secret::IdToken) -> Option<Map<String, Value>> {
    jsonwebtoken::dangerous::insecure_decode_claims(id_token.secret()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn token(payload: &[u8]) -> crate::model::secret::IdToken {
        crate::model::secret::IdToken::new(format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload)))
    }

    #[test]
    fn all_claims_are_kept_for_reading() {
        let claims =
            claims_for_display(&token(br#"{"sub":"alice","email":"a@x","groups":["g"]}"#)).unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["groups"][0], "g");
    }

    #[test]
    fn what_is_not_a_jwt_object_shows_nothing() {
        assert!(claims_for_display(&crate::model::secret::IdToken::new("nope".into())).is_none());
        assert!(claims_for_display(&token(b"[1,2]")).is_none());
        assert!(claims_for_display(&token(b"not json")).is_none());
    }
}
