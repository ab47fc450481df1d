//! The engine and the clipboard, kept between commands (Tauri-managed state). Sign-ins in
//! progress and queued events are managed state of their own (`signin`, `events`).

use std::sync::Arc;

use latchkey::Latchkey;

use crate::clipboard::SecretClipboard;
use crate::dto::{ErrorDto, ErrorKindDto};

pub struct AppState {
    engine: Result<Arc<Latchkey>, String>,
    pub clipboard: Arc<SecretClipboard>,
}

impl AppState {
    pub fn new() -> Self {
        AppState {
            engine: Latchkey::open().map(Arc::new).map_err(|e| e.to_string()),
            clipboard: Arc::default(),
        }
    }

    pub fn engine(&self) -> Result<Arc<Latchkey>, ErrorDto> {
        self.engine
            .clone()
            .map_err(|e| ErrorDto::new(ErrorKindDto::Other, format!("Latchkey cannot start: {e}")))
    }
}
