//! What a profile's client authenticates with, as the CLI takes it: a secret on standard
//! input or a private key file; the `profile add` flags of modern OAuth (DPoP, PAR,
//! `private_key_jwt`, client ID metadata documents), and `profile show --jwks`.

use std::path::PathBuf;

use clap::Args;
use latchkey::{Error, Latchkey, Result};
use oauth2::ClientSecret;
use url::Url;

use super::io::{Io, Piped, outln, read_hidden};

#[derive(Args, Default)]
pub struct ModernArgs {
    /// Bind the tokens to a key of each account's own (DPoP, RFC 9449): Latchkey makes the key
    /// at sign-in, keeps it in the keychain and signs a proof for every request it hands a
    /// token to (`token --method --url`, `dpop-proof`, `proxy`).
    #[arg(long)]
    pub dpop: bool,
    /// Push the authorization request to the provider first (PAR, RFC 9126): the browser gets
    /// only a `request_uri`. On by itself when the provider requires it.
    #[arg(long)]
    pub par: bool,
    /// The client's private key, a PEM file (P-256 or RSA): the client authenticates with
    /// signed assertions (private_key_jwt, RFC 7523). The key is imported into the keychain;
    /// the file is not needed afterwards. `--auth-method private-key-jwt` without it: Latchkey
    /// makes a key; `profile show NAME --jwks` prints its public half to register.
    #[arg(long, value_name = "PEM", conflicts_with = "client_secret_stdin")]
    pub private_key_file: Option<PathBuf>,
    /// With --resource: the https URL of a client ID metadata document you publish, used as the
    /// client id when the authorization server accepts them (before dynamic registration).
    #[arg(
        long,
        value_name = "URL",
        requires = "resources",
        conflicts_with = "client_id"
    )]
    pub client_metadata_url: Option<Url>,
}

/// What goes to the keychain for the client: the key file's PEM, or the secret read from
/// standard input.
pub fn client_credential(
    from_stdin: bool,
    key_file: Option<&std::path::Path>,
) -> Result<Option<ClientSecret>> {
    if let Some(path) = key_file {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            Error::io(
                format!("cannot read the private key file {}", path.display()),
                e,
            )
        })?;
        return Ok(Some(ClientSecret::new(pem)));
    }
    from_stdin.then(|| read_secret("Client secret")).transpose()
}

/// What `profile show` says of a `private_key_jwt` profile's key (none for other profiles).
pub async fn client_key_line(engine: &Latchkey, p: &latchkey::Profile) -> Option<String> {
    if p.auth_method != latchkey::AuthMethod::PrivateKeyJwt {
        return None;
    }
    Some(match engine.client_public_jwks(&p.name).await {
        Ok(jwks) => {
            let key = &jwks["keys"][0];
            format!(
                "in the OS keychain ({}, kid {}); its public JWKS, to register: `latchkey profile show {} --jwks`",
                key["alg"].as_str().unwrap_or("?"),
                key["kid"].as_str().unwrap_or("?"),
                p.name
            )
        }
        Err(e) => format!("not usable: {e}"),
    })
}

/// `profile show NAME --jwks`: the public JWKS of a `private_key_jwt` profile's key.
pub async fn print_jwks(engine: &Latchkey, name: &str, io: &mut Io<'_>) -> Result<()> {
    let jwks = engine.client_public_jwks(name).await?;
    outln!(
        io,
        "{}",
        serde_json::to_string_pretty(&jwks).unwrap_or_default()
    )
}

/// Reads a secret from standard input: hidden at a terminal, the whole input otherwise.
pub fn read_secret(prompt: &str) -> Result<ClientSecret> {
    read_hidden(prompt, "the client secret", Piped::Whole).map(ClientSecret::new)
}
