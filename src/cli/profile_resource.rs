//! `latchkey profile add NAME --resource URL` (RFC 9728 discovery, RFC 7591 registration).

use latchkey::api::redirect_to_register;
use latchkey::engine::{ClientOrigin, ResourceProfile};
use latchkey::model::untrusted::sanitize;
use latchkey::{Latchkey, Profile, Result};
use oauth2::ClientSecret;

/// `profile add NAME --resource URL`: discovery from the resource (RFC 9728), a client given or
/// registered once (RFC 7591); what was found is printed.
pub async fn add(
    engine: &Latchkey,
    request: ResourceProfile,
    secret: Option<ClientSecret>,
) -> Result<()> {
    let profile = engine.add_resource_profile(request, secret).await?;
    println!("Added profile `{}`.", profile.name);
    println!(
        "Resource:             {}",
        sanitize(&profile.resources.join(" "))
    );
    println!(
        "Authorization server: {}",
        sanitize(profile.issuer.as_deref().unwrap_or("-"))
    );
    println!("Client:               {}", client_origin(&profile));
    if !profile.scopes.is_empty() {
        println!(
            "Scopes:               {}",
            sanitize(&profile.scopes.join(" "))
        );
    }
    if ClientOrigin::of(&profile) == ClientOrigin::PreRegistered {
        println!(
            "Redirect URI to register at the provider: {}",
            redirect_to_register(&profile)
        );
    }
    println!("Next: latchkey login {}", profile.name);
    Ok(())
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
