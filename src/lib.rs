//! Latchkey's engine: OAuth 2.0 client profiles, browser sign-in, tokens in the OS keychain.
//! It knows nothing of the desktop shell; the CLI and the Tauri app are thin layers over it.
//!
//! The folders are the layers, lowest first (docs/architecture.md; `scripts/check-layout.py`
//! fails on an import that goes up):
//! - [`model`], [`protocol`], [`store`]: the parts. What things are, how Latchkey talks to
//!   providers, where things are kept. They import nothing above them.
//! - [`engine`]: [`Latchkey`], one struct with one impl file per flow.
//! - [`door`]: the one place a token leaves Latchkey: access rules, the caller, history.
//! - [`api`]: what the front ends share (forms, sharing, tool integrations).
//! - [`agent`]: the agent's socket server and its client; the CLI (`src/cli/`, in the binary)
//!   and the desktop app (`src-tauri/`) are the other front ends.

pub mod error;

pub mod model;
pub mod protocol;
pub mod store;

pub mod engine;

pub mod door;

pub mod api;

pub mod agent;

pub use engine::{
    BrowserRequest, DeviceLogin, Endpoints, Latchkey, NewProfile, PendingImplicitLogin,
    PendingLogin, ProfileExtras,
};
pub use error::{Error, ErrorKind, Result};
pub use model::account::{Account, AccountId, Status};
pub use model::hint::Hint;
pub use model::profile::{AuthMethod, Grant, LegacyGrant, Profile, RedirectMode};
pub use model::tokens::TokenSet;
pub use protocol::callback::{AuthorizationResponse, LoopbackListener};
