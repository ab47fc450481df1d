//! Where things are kept: the OS keychain (the only place for a secret), the config directory
//! (TOML edited in place), private files and directories, the state directory and history.
//! Never imports the engine or anything above it.

pub mod config;
pub mod history;
pub mod keychain;
pub mod paths;
pub mod private_files;
#[cfg(target_os = "linux")]
mod secret_service;
pub(crate) mod toml_edits;
pub mod trusted;
