//! JWKS documents: parsing, and verifying a fixed token with whatever keys came out.
#![no_main]

use latchkey::protocol::jwks;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(keys) = jwks::parse_bytes(data) else {
        return;
    };
    assert!(!keys.keys().is_empty() && keys.keys().len() <= jwks::MAX_KEYS);
    let profile = common::profile();
    // Any outcome but a panic; a forged key set may only verify tokens its own keys signed.
    let _ = profile.id_token_verifier().verify_signature(common::TOKEN, &keys);
});
