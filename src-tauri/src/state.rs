//! What the shell keeps between commands.

use std::sync::{Arc, Mutex};

use latchkey::Latchkey;

use crate::clipboard::SecretClipboard;
use crate::dto::{ErrorDto, ErrorKindDto, SignInEvent};
use crate::signin::SignIns;

pub struct AppState {
    engine: Result<Arc<Latchkey>, String>,
    pub signins: SignIns,
    pub clipboard: Arc<SecretClipboard>,
    /// Events that arrived before the window loaded (a cold start by deep link); `None` once
    /// the window has asked for them.
    pub queued: Mutex<Option<Vec<SignInEvent>>>,
}

impl AppState {
    pub fn new() -> Self {
        AppState {
            engine: Latchkey::open().map(Arc::new).map_err(|e| e.to_string()),
            signins: SignIns::default(),
            clipboard: Arc::default(),
            queued: Mutex::new(Some(Vec::new())),
        }
    }

    pub fn engine(&self) -> Result<Arc<Latchkey>, ErrorDto> {
        self.engine
            .clone()
            .map_err(|e| ErrorDto::new(ErrorKindDto::Other, format!("Latchkey cannot start: {e}")))
    }
}
