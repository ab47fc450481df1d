//! Latchkey's engine: OAuth 2.0 client profiles, browser sign-in, tokens in the OS keychain.
//! It knows nothing of the desktop shell; the CLI and the Tauri app are thin layers over
//! [`Latchkey`].

pub mod account;
pub mod agent;
pub mod api;
pub mod browser;
pub mod callback;
pub mod config;
pub mod discovery;
pub mod engine;
pub mod error;
pub mod hint;
pub mod history;
pub mod http;
pub mod idtoken;
pub mod integrations;
pub mod jwks;
pub mod keychain;
pub mod network;
pub mod notice;
pub mod oauth;
pub mod paths;
pub mod presets;
pub mod private_files;
pub mod profile;
pub mod secret;
#[cfg(target_os = "linux")]
mod secret_service;
pub mod tokens;
mod toml_edits;
pub mod untrusted;

pub use account::{Account, AccountId, Status};
pub use callback::{AuthorizationResponse, LoopbackListener};
pub use engine::{
    DeviceLogin, Endpoints, Latchkey, NewProfile, PendingImplicitLogin, PendingLogin, ProfileExtras,
};
pub use error::{Error, ErrorKind, Hint, Result};
pub use profile::{AuthMethod, Grant, LegacyGrant, Profile, RedirectMode};
pub use tokens::TokenSet;
