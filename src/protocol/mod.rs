//! How Latchkey talks to providers and browsers: HTTP with its proxies and CAs, OAuth requests
//! (on the `oauth2` crate), discovery, the loopback callback listener, id_token verification
//! and key sets, opening the system browser. Never imports the engine or anything above it.

pub mod browser;
pub mod callback;
pub mod discovery;
pub mod dpop;
pub mod http;
pub mod idtoken;
pub mod jwks;
pub mod keys;
pub mod network;
pub mod oauth;
pub mod registration;
pub mod resource;
