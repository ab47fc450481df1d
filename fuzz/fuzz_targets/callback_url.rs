//! The authorization response in a redirect URL (loopback callback or deep link).
#![no_main]

use latchkey::AuthorizationResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // As the listener sees it (a request target) and as a deep link arrives (a whole URL).
    for candidate in [format!("http://127.0.0.1{text}"), text.to_string()] {
        if let Ok(url) = url::Url::parse(&candidate)
            && let Some(response) = AuthorizationResponse::from_url(&url)
        {
            let _ = response.state();
        }
    }
});
