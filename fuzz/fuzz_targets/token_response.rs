//! The token-endpoint normaliser: any status, content type and body. What it lets through must
//! be JSON; what it refuses must be described in a bounded, redacted message.
#![no_main]

use latchkey::protocol::http::{Endpoint, normalize};
use libfuzzer_sys::fuzz_target;
use oauth2::http::{HeaderMap, HeaderValue, StatusCode, header};

const STATUSES: &[u16] = &[
    200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 429, 500, 503,
];
const TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
    "text/html",
    "",
];

fuzz_target!(|data: &[u8]| {
    let [s, t, e, body @ ..] = data else {
        return;
    };
    let status = StatusCode::from_u16(STATUSES[*s as usize % STATUSES.len()]).unwrap();
    let mut headers = HeaderMap::new();
    let content_type = TYPES[*t as usize % TYPES.len()];
    if !content_type.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if status.is_redirection() && e & 2 == 0 {
        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("https://elsewhere.example/t?code=secret"),
        );
    }
    let endpoint = if e & 1 == 0 {
        Endpoint::Token
    } else {
        Endpoint::Revocation
    };
    match normalize(status, &headers, body, endpoint) {
        Ok(response) => {
            if !(endpoint == Endpoint::Revocation && response.body().is_empty()) {
                let value: serde_json::Value =
                    serde_json::from_slice(response.body()).expect("normalised bodies are JSON");
                assert!(value.is_object());
            }
        }
        Err(err) => {
            let text = err.to_string();
            assert!(
                text.len() < 2048,
                "unbounded error message: {} bytes",
                text.len()
            );
            assert!(!text.contains("code=secret"), "redirect query leaked");
        }
    }
});
