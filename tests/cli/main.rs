//! End-to-end tests of the `latchkey` binary against real parts: the oidc-provider
//! authorization server, the scripted browser and a private gnome-keyring. Run them through
//! `scripts/test`. One test binary (not one per file) keeps linking fast.

#[cfg(target_os = "linux")]
mod access;
mod agent;
mod config;
#[cfg(target_os = "linux")]
mod durability;
mod edges;
mod fakeas;
#[cfg(target_os = "linux")]
mod forward;
mod grants;
mod hostile;
mod keychain;
mod legacy;
mod mcp;
mod mcp_profiles;
mod modern;
#[cfg(target_os = "linux")]
mod netns;
mod network;
#[cfg(target_os = "linux")]
mod notify;
mod presets;
mod profiles;
mod provider_features;
#[cfg(target_os = "linux")]
mod proxy;
mod quirks;
#[cfg(target_os = "linux")]
mod races;
#[cfg(unix)]
mod serve;
mod share;
mod signin;
#[cfg(target_os = "linux")]
mod sshd;
mod tokens;
mod tools;
mod trust;
mod util;
