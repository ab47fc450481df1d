//! The agent's request parser: whatever a local client sends on the socket.
#![no_main]

use latchkey::agent::protocol::{Response, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        // What parses must serialise back and parse the same.
        Ok(request) => {
            let line = serde_json::to_vec(&request).expect("a request serialises");
            assert_eq!(parse_request(&line).ok(), Some(request));
        }
        Err(e) => {
            let _ = Response::bad_request(&e).to_line();
        }
    }
});
