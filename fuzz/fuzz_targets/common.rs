//! What the id_token and JWKS targets share: a profile, the key set of tests/keys (public
//! parts) and one token those keys really signed.
#![allow(dead_code)]

use latchkey::Profile;
use latchkey::protocol::jwks::{self, KeySet};

pub const JWKS: &str = r#"{"keys": [{"kty": "RSA", "kid": "key-a", "use": "sig", "alg": "RS256", "n": "u00BiSvtrosZlazAgTlNNY-F-XF57rtTbVKWixE8coNQ4pPeHTlNAMJchrEBff1c0GnHQ94u1MwYCLkc_Nxan6nTFgPjePlJuen0_e-iTIisdUETXyMgjwfH7MWnhri721tWMNMWlazU9_jJxSE7QmXWe6KHR6Sev0gjey0hMHo2isVEodhs4BO4J9tRAyBnmFbOWWS35C0SoWy8XeTNA1JArS3152bmZdEt1q6InQR-ml9ujx84Uj9qgnmd7Y4IcCKlKhxfu27gY9cvIy3Lmnq_3wjRU8jlhyCGpqlEaNhvsMbHxXeP51cyDMgRQ_Hxd1j8tluwrUpqfDSgZksjGQ", "e": "AQAB"}, {"kty": "EC", "kid": "key-ec", "use": "sig", "alg": "ES256", "crv": "P-256", "x": "Lm-LtuvNcBxoozJsRlFcWcx_ZxBSWjP3je03i2DxSxM", "y": "qsh1RaulPoJ7_osWvc-pDEEayVkoOHUlnjmNDN3SnXc"}]}"#;

/// RS256, kid `key-a`, nonce `n-0S6_WzA2Mj`, valid until 2100.
pub const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImtleS1hIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoidTEiLCJhdWQiOiJjbGllbnQiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMCwibm9uY2UiOiJuLTBTNl9XekEyTWoiLCJlbWFpbCI6ImFAZXhhbXBsZS50ZXN0In0.nX-T5G--JXSRQurCx-LcW2IvJVwrTF5GP-STFbU4fVMFvK6x52seA_zpe0Bxz0rCf-A-O2Ev9ZnkWj2rrFJ9HSldxPEDvx1IfqWDVg3cMJXMA46YNgk_dmd_h7ZSB6k1fEVUTr1ujz_NUJc-aK4dteV0oKPm1ebdAV3VaatnjeNEcQn5vabRmnpeXv38xtwRV1mYTYIbpVaasdapdKicCR2G3FcsXEw6gV8gOFs22PY2GdElrGezNkm31fnLV1Sljht49gSrpUx1z997MDZdx32XpjzUyKAbF4acIlEm5sJQWr1yZ1dQWJZVRsAIrkPPXUZzuP0XHV0TDFS92fp4uQ";

/// ES256, kid `key-ec`, the same claims.
pub const TOKEN_ES256: &str = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS1lYyJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoidTEiLCJhdWQiOiJjbGllbnQiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMCwibm9uY2UiOiJuLTBTNl9XekEyTWoiLCJlbWFpbCI6ImFAZXhhbXBsZS50ZXN0In0.yBPdZoEJXvzZOOKd_GGiZ_48jP4iwHLZO0PtPcX8yc4whZQ4a-4Xd2T6W5S6GJ2CNO9rg1T74BlF4j4G73O4zw";

/// The inputs that verify.
pub const VALID: &[&str] = &[TOKEN, TOKEN_ES256];

pub fn keys() -> KeySet {
    jwks::parse_bytes(JWKS.as_bytes()).expect("fixed key set")
}

pub fn profile() -> Profile {
    Profile {
        issuer: Some("https://issuer.example".into()),
        authorization_endpoint: "https://issuer.example/a".parse().unwrap(),
        token_endpoint: "https://issuer.example/t".parse().unwrap(),
        jwks_uri: Some("https://issuer.example/jwks".parse().unwrap()),
        scopes: vec!["openid".into()],
        auth_method: Default::default(),
        id_token_signing_alg_values_supported: vec![
            "RS256".into(),
            "ES256".into(),
            "PS256".into(),
            "EdDSA".into(),
        ],
        ..Profile::for_tests("fuzz")
    }
}
