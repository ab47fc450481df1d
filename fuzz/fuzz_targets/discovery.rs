//! Discovery documents (OIDC Discovery / RFC 8414) and the well-known URLs of an issuer.
#![no_main]

use latchkey::protocol::discovery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(metadata) = discovery::parse(doc)
    {
        if let Ok(issuer) = url::Url::parse(&metadata.issuer) {
            let _ = discovery::candidate_urls(&issuer);
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(issuer) = url::Url::parse(text)
    {
        let urls = discovery::candidate_urls(&issuer);
        assert!(!urls.is_empty() && urls.len() <= 3);
    }
});
