//! What things are: accounts, profiles and their validation, token sets, secrets in memory,
//! text from strangers, provider presets. Plain data and its rules; may import `protocol`
//! and `store` types it describes, never the engine or anything above it.

pub mod account;
pub mod hint;
pub mod notice;
pub mod presets;
pub mod profile;
pub mod secret;
pub mod suggest;
pub mod tokens;
pub mod untrusted;
