//! A profile's client at its provider: what every back-channel request carries (as `oauth2`'s
//! `Client`). One method per flow: the token grants and revocation in `mod.rs`, the device flow
//! in `device`, pushed authorization requests in `par`, the form POST they share in `form`.

use oauth2::ClientSecret;

use crate::model::profile::Profile;
use crate::protocol::http::Http;

#[derive(Clone, Copy)]
pub struct Client<'a> {
    pub http: &'a Http,
    pub profile: &'a Profile,
    /// The client secret, or the private key of a `private_key_jwt` client.
    pub secret: Option<&'a ClientSecret>,
}
