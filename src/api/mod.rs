//! The layer every front end calls above the engine (as GitButler's `but-api`): what the CLI,
//! the desktop app and the agent would otherwise each do by hand. A profile from user input,
//! preset filling, the redirect URI to register, claims for display, access rules as listed,
//! profiles, accounts and presets as shown (views.rs), an account's history (history.rs).
//! Plain Rust: it knows nothing of clap or Tauri; each front end maps its own input (flags,
//! an IPC form) into these types and words the errors in its own terms.
//!
//! May import the door, the engine and the parts; never the agent or a front end.

pub mod access;
mod claims;
pub mod history;
pub mod integrations;
mod profile_form;
mod redirect;
mod share;
mod suggest;
pub mod views;

pub use claims::claims_for_display;
pub use profile_form::{
    EndpointsForm, FormError, PresetChoice, ProfileForm, ProfileRequest, build_profile,
};
pub use redirect::{RedirectToRegister, redirect_to_register};
pub use share::{Imported, ShareSource, export_profiles, export_to, import, read_import};
pub use suggest::with_suggestion;
