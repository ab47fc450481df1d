//! `latchkey profile add NAME --resource URL` (RFC 9728 discovery, RFC 7591 registration).

use latchkey::api::redirect_to_register;
use latchkey::engine::{ClientOrigin, ResourceProfile};
use latchkey::model::untrusted::sanitize;
use latchkey::{Latchkey, Profile, Result};
use oauth2::ClientSecret;

use super::format::words;
use super::io::{Io, outln};

/// `profile add NAME --resource URL`: discovery from the resource (RFC 9728), a client given or
/// registered once (RFC 7591); what was found is printed.
pub async fn add(
    engine: &Latchkey,
    request: ResourceProfile,
    secret: Option<ClientSecret>,
    io: &mut Io<'_>,
) -> Result<()> {
    let profile = engine.add_resource_profile(request, secret).await?;
    added(&profile, io)
}

/// What `profile add --resource` found, and what to do next.
fn added(profile: &Profile, io: &mut Io) -> Result<()> {
    outln!(io, "Added profile `{}`.", profile.name)?;
    outln!(io, "Resource:             {}", words(&profile.resources))?;
    outln!(
        io,
        "Authorization server: {}",
        sanitize(profile.issuer.as_deref().unwrap_or("-"))
    )?;
    outln!(io, "Client:               {}", client_origin(profile))?;
    if !profile.scopes.is_empty() {
        outln!(io, "Scopes:               {}", words(&profile.scopes))?;
    }
    if ClientOrigin::of(profile) == ClientOrigin::PreRegistered {
        outln!(
            io,
            "Redirect URI to register at the provider: {}",
            redirect_to_register(profile)
        )?;
    }
    outln!(io, "Next: latchkey login {}", profile.name)
}

/// How a profile's client was registered, in words.
pub fn client_origin(p: &Profile) -> String {
    let id = sanitize(&p.client_id);
    match (ClientOrigin::of(p), &p.registration) {
        (ClientOrigin::Dynamic, Some(r)) => format!(
            "{id}, registered by Latchkey at {} (RFC 7591){}",
            r.registration_endpoint,
            match &r.registration_client_uri {
                Some(_) => "; `profile remove` deletes it (RFC 7592)",
                None => "",
            }
        ),
        (ClientOrigin::MetadataDocument, _) => format!("{id} (a client ID metadata document)"),
        _ => format!("{id} (pre-registered)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::Captured;

    #[test]
    fn adding_for_a_resource_says_what_discovery_found() {
        let profile = Profile {
            resources: vec!["https://mcp.example/mcp".into()],
            issuer: Some("https://as.example".into()),
            scopes: vec!["mcp:tools".into()],
            ..Profile::for_tests("mcp")
        };
        let mut c = Captured::default();
        added(&profile, &mut c.io()).unwrap();
        assert_eq!(
            c.out(),
            "\
Added profile `mcp`.
Resource:             https://mcp.example/mcp
Authorization server: https://as.example
Client:               client (pre-registered)
Scopes:               mcp:tools
Redirect URI to register at the provider: http://127.0.0.1/callback (any port, RFC 8252 §7.3)
Next: latchkey login mcp
"
        );
        assert_eq!(c.err(), "");
    }
}
