//! The redirect URI a provider's client registration must list for a profile.

use std::fmt;

use crate::model::profile::DEEP_LINK_REDIRECT;
use crate::{Profile, RedirectMode};

/// What to register at the provider. `Display` gives the sentence form the CLI prints; `uri`
/// is the value alone, for a copy button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectToRegister {
    pub uri: String,
    /// A loopback redirect without a fixed URI: the port is chosen per sign-in and providers
    /// match any port (RFC 8252 §7.3).
    pub any_port: bool,
}

impl RedirectToRegister {
    /// For a redirect mode and the fixed URI a profile may have.
    pub fn of(mode: RedirectMode, fixed: Option<&url::Url>) -> Self {
        let (uri, any_port) = match (fixed, mode) {
            (Some(uri), _) => (uri.to_string(), false),
            (None, RedirectMode::Loopback) => ("http://127.0.0.1/callback".to_string(), true),
            (None, RedirectMode::DeepLink) => (DEEP_LINK_REDIRECT.to_string(), false),
        };
        RedirectToRegister { uri, any_port }
    }
}

impl fmt::Display for RedirectToRegister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)?;
        if self.any_port {
            f.write_str(" (any port, RFC 8252 §7.3)")?;
        }
        Ok(())
    }
}

/// The redirect URI `profile` needs registered at its provider.
pub fn redirect_to_register(profile: &Profile) -> RedirectToRegister {
    RedirectToRegister::of(profile.redirect, profile.redirect_uri.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(extra: &str) -> Profile {
        toml::from_str(&format!(
            "client_id = 'c'\nauthorization_endpoint = 'https://a.example/auth'\ntoken_endpoint = 'https://a.example/token'\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn loopback_registers_any_port() {
        let r = redirect_to_register(&profile(""));
        assert_eq!(r.uri, "http://127.0.0.1/callback");
        assert_eq!(
            r.to_string(),
            "http://127.0.0.1/callback (any port, RFC 8252 §7.3)"
        );
    }

    #[test]
    fn deep_link_registers_the_latchkey_scheme() {
        let r = redirect_to_register(&profile("redirect = 'deep-link'"));
        assert_eq!(r.to_string(), "latchkey://callback");
        assert!(!r.any_port);
    }

    #[test]
    fn a_fixed_uri_is_registered_as_it_is() {
        let p = profile("redirect_uri = 'http://127.0.0.1:8765/cb'");
        let r = redirect_to_register(&p);
        assert_eq!(r.to_string(), "http://127.0.0.1:8765/cb");
        assert_eq!(r.uri, r.to_string());
    }
}
