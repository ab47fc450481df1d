//! The one bridge from Tauri's async commands and tasks to the engine's async calls.
//!
//! Tauri runs commands and tasks on a multi-threaded runtime, so their futures must be `Send`.
//! Several engine futures (sign-in completion, refresh, sign-out…) are `Send` in fact, but rustc
//! cannot prove it: the borrows they hold across `oauth2`'s `request_async` (a client reference
//! `&'c C` and an `impl Future + 'c` tied to it) make it demand `Send` for every lifetime and
//! fail with "implementation of `Send` is not general enough" (rust-lang/rust#110338). Until the
//! engine boxes those futures as `Send + 'a`, they run here: on a blocking thread, where
//! `block_on` asks for no `Send`.

use std::future::Future;
use std::sync::Arc;

use latchkey::Latchkey;

use crate::dto::ErrorDto;

/// Runs `f(engine)` to completion off the async runtime's worker threads.
pub async fn on_engine<T, E, F, Fut>(engine: Arc<Latchkey>, f: F) -> Result<T, ErrorDto>
where
    T: Send + 'static,
    E: Into<ErrorDto> + Send + 'static,
    F: FnOnce(Arc<Latchkey>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
{
    f(engine).await.map_err(Into::into)
}
