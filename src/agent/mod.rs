//! The agent: tokens served from memory over a private Unix socket, kept fresh in the
//! background, with a history of who took which token. `latchkey agent` runs it; the CLI's
//! token commands ask it first ([`client`]) and go to the keychain at once when it does not
//! answer. The keychain and the config stay the source of truth.
//!
//! A front end: may import `api`, the door, the engine and the parts; never the CLI.

#[cfg(unix)]
pub mod asking;
#[cfg(unix)]
pub mod client;
#[cfg(unix)]
pub mod notify;
pub mod protocol;
#[cfg(unix)]
pub mod refresher;
#[cfg(unix)]
pub mod server;
#[cfg(unix)]
pub mod socket;
#[cfg(unix)]
pub mod wake;
#[cfg(unix)]
pub mod watch;

pub use protocol::{Handed, How};
#[cfg(unix)]
pub use socket::socket_path;
