//! Sign-ins in progress, and the callbacks that finish them. `SignIns` is Tauri-managed state of
//! its own; the engine comes from `AppState`.
//!
//! A deep-link callback is accepted only when its `state` matches a sign-in this instance
//! started and whose timeout has not passed. Anything else — an unknown or reused state, a link
//! without code or error, a link arriving on a cold start — is reported as `rejected` and
//! changes nothing: the sign-in in progress (if any) keeps waiting.

mod browser;
mod deep_link;
mod device;
mod pending;
mod registry;

pub use browser::begin;
pub use deep_link::handle_url;
pub use device::{begin_device, open_device_page};
pub use registry::SignIns;
