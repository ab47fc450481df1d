//! id_tokens: header and claims decoding, and full verification against a fixed key set. No
//! input the fuzzer makes can carry a valid signature, so verification must always refuse.
#![no_main]

use latchkey::protocol::idtoken::{self, Expect};
use latchkey::model::secret::Nonce;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(jwt) = std::str::from_utf8(data) else {
        return;
    };
    let _ = idtoken::header(jwt);
    let _ = idtoken::decode(jwt);
    let verifier = common::profile().id_token_verifier();
    let keys = common::keys();
    let nonce = Nonce::new("n-0S6_WzA2Mj".into());
    let expect = Expect::SignIn { nonce: &nonce };
    if !common::VALID.contains(&jwt) {
        assert!(
            verifier.verify(jwt, &keys, expect, 1_700_000_000).is_err(),
            "an unsigned input verified"
        );
    }
});
