//! The engine and the clipboard, kept between commands (Tauri-managed state). Sign-ins in
//! progress and queued events are managed state of their own (`signin`, `events`).

use std::sync::Arc;

use latchkey::Latchkey;

use crate::clipboard::SecretClipboard;
use crate::dto::{ErrorDto, ErrorKindDto};
use crate::notices::NoticeSink;

pub struct AppState {
    engine: Result<Arc<Latchkey>, String>,
    pub clipboard: Arc<SecretClipboard>,
    /// Setup connects it to the app: the engine's notices then reach the window.
    pub notices: NoticeSink,
}

impl AppState {
    pub fn new() -> Self {
        let notices = NoticeSink::default();
        AppState {
            engine: Latchkey::open()
                .map(|engine| Arc::new(engine.with_notices(notices.hook())))
                .map_err(|e| e.to_string()),
            clipboard: Arc::default(),
            notices,
        }
    }

    pub fn engine(&self) -> Result<Arc<Latchkey>, ErrorDto> {
        self.engine
            .clone()
            .map_err(|e| ErrorDto::new(ErrorKindDto::Other, format!("Latchkey cannot start: {e}")))
    }
}
