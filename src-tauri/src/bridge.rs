//! Engine calls from Tauri commands: the engine's futures are `Send`, so a command awaits
//! them on Tauri's runtime directly; this only gives the closure its engine and maps the
//! engine's error to the IPC's. (It used to move each call to a blocking thread, when rustc
//! could not prove the futures `Send`: see `TokenEndpoint`'s `AsyncHttpClient` in
//! src/protocol/oauth/mod.rs.)

use std::future::Future;
use std::sync::Arc;

use latchkey::Latchkey;

use crate::dto::ErrorDto;

/// Awaits `f(engine)`, its error as the IPC's.
pub async fn on_engine<T, E, F, Fut>(engine: Arc<Latchkey>, f: F) -> Result<T, ErrorDto>
where
    T: Send + 'static,
    E: Into<ErrorDto> + Send + 'static,
    F: FnOnce(Arc<Latchkey>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
{
    f(engine).await.map_err(Into::into)
}
