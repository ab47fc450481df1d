//! `latchkey profile set`: a profile's scopes, proxy, CA file, DPoP, PAR or resource
//! indicators, edited in place.

use clap::Args;
use latchkey::engine::ProfileSettings;
use latchkey::model::profile::parse_scopes;
use latchkey::protocol::network::Network;
use latchkey::{Error, Latchkey, Result};
use url::Url;

use super::completions::profile_names;
use super::io::{Io, outln};

#[derive(Args)]
pub struct SetArgs {
    #[arg(add = profile_names())]
    name: String,
    /// The scopes to ask for from now on, separated by spaces or commas (they apply at the next
    /// sign-in).
    #[arg(long)]
    scope: Option<String>,
    /// The HTTPS proxy of this profile's requests, e.g. http://proxy.corp:3128 (no credentials:
    /// those stay in HTTPS_PROXY).
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    proxy: Option<String>,
    /// Remove the profile's proxy (HTTPS_PROXY and ALL_PROXY apply again).
    #[arg(long)]
    no_proxy: bool,
    /// A PEM file of CA certificates to trust for this profile's requests, besides the system's.
    #[arg(long, value_name = "PATH", conflicts_with = "no_ca_file")]
    ca_file: Option<std::path::PathBuf>,
    /// Remove the profile's CA file.
    #[arg(long)]
    no_ca_file: bool,
    /// Bind the next sign-ins' tokens to a key of each account's own (DPoP, RFC 9449).
    #[arg(long, conflicts_with = "no_dpop")]
    dpop: bool,
    /// Sign in without DPoP from now on (accounts already bound keep their keys).
    #[arg(long)]
    no_dpop: bool,
    /// Push the authorization request first (PAR, RFC 9126).
    #[arg(long, conflicts_with = "no_par")]
    par: bool,
    /// Stop pushing the authorization request (a provider that requires it then refuses the
    /// sign-in).
    #[arg(long)]
    no_par: bool,
    /// Send this RFC 8707 resource indicator on every request, e.g. an API's URL (repeatable;
    /// replaces the profile's list). Not for a profile discovered from its resource.
    #[arg(long = "resource", value_name = "URL", conflicts_with = "no_resource")]
    resources: Vec<String>,
    /// Send no resource indicator any more.
    #[arg(long)]
    no_resource: bool,
}

pub fn run(engine: &Latchkey, args: SetArgs, io: &mut Io) -> Result<()> {
    let settings = settings(&args)?;
    if settings.is_empty() {
        return Err(Error::InvalidInput(
            "nothing to change: give --scope, --proxy, --no-proxy, --ca-file, --no-ca-file, --dpop, --no-dpop, --par, --no-par, --resource or --no-resource"
                .into(),
        ));
    }
    let profile = engine.set_profile(&args.name, settings)?;
    outln!(io, "Changed profile `{}`.", profile.name)?;
    if !args.resources.is_empty() || args.no_resource {
        outln!(
            io,
            "Resources: {} (from the next token request).",
            match profile.resources.is_empty() {
                true => "none".to_string(),
                false => profile.resources.join(" "),
            }
        )?;
    }
    if args.scope.is_some() {
        outln!(
            io,
            "Scopes: {} (from the next sign-in: `latchkey login {}`).",
            profile.scopes.join(" "),
            profile.name
        )?;
    }
    Ok(())
}

fn settings(args: &SetArgs) -> Result<ProfileSettings> {
    let network = network_flags(args.proxy.as_deref(), args.ca_file.as_deref())?;
    Ok(ProfileSettings {
        scopes: args.scope.as_deref().map(parse_scopes),
        proxy: match (network.proxy, args.no_proxy) {
            (Some(url), _) => Some(Some(url)),
            (None, true) => Some(None),
            (None, false) => None,
        },
        ca_file: match (network.ca_file, args.no_ca_file) {
            (Some(path), _) => Some(Some(path)),
            (None, true) => Some(None),
            (None, false) => None,
        },
        dpop: flag(args.dpop, args.no_dpop),
        par: flag(args.par, args.no_par),
        resources: match (args.resources.is_empty(), args.no_resource) {
            (false, _) => Some(args.resources.clone()),
            (true, true) => Some(Vec::new()),
            (true, false) => None,
        },
    })
}

/// `--x` / `--no-x`: set, cleared, or left as it is.
fn flag(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

/// `--proxy` and `--ca-file` (of `profile add` and `profile set`): the proxy parsed here, so
/// that no parser error repeats a password it holds; the CA file made absolute (it is read
/// again at each use).
pub(super) fn network_flags(
    proxy: Option<&str>,
    ca_file: Option<&std::path::Path>,
) -> Result<Network> {
    let proxy = proxy
        .map(|p| {
            Url::parse(p.trim()).map_err(|_| {
                Error::InvalidInput(
                    "--proxy is not a URL; give it as http://HOST:PORT (or https://)".into(),
                )
            })
        })
        .transpose()?;
    let ca_file = ca_file
        .map(|p| {
            std::path::absolute(p).map_err(|e| Error::io(format!("--ca-file {}", p.display()), e))
        })
        .transpose()?;
    Ok(Network { proxy, ca_file })
}
