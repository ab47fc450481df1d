//! `latchkey profile add|list|show|remove|set-secret` (`export|import` in `profile_share`).

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};
use latchkey::api::{
    EndpointsForm, FormError, PresetChoice, ProfileForm, build_profile, redirect_to_register,
};
use latchkey::engine::{ResourceProfile, SecretState};
use latchkey::model::profile::{is_loopback, parse_param, parse_scopes};
use latchkey::model::untrusted::sanitize;
use latchkey::protocol::network::{Network, redact};
use latchkey::{
    AuthMethod, Error, Grant, Latchkey, LegacyGrant, Profile, ProfileExtras, RedirectMode, Result,
};
use url::Url;

use super::completions::profile_names;
use super::format::words;
use super::io::{Io, errln, outln, print_list};
use super::profile_keys::{self, read_secret};
use super::profile_resource;
use super::profile_share::{self, ExportArgs, ImportArgs};

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Register an OAuth client: from a preset, by discovery from an issuer, or with the endpoints.
    Add(Box<AddArgs>),
    /// List profiles.
    List {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Show one profile, with the redirect URI to register at the provider.
    Show {
        #[arg(add = profile_names())]
        name: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
        /// Print the public JWKS of a private_key_jwt profile's key, to register at the provider.
        #[arg(long, conflicts_with = "json")]
        jwks: bool,
    },
    /// Change a profile's scopes, proxy, CA file, DPoP, PAR or resource indicators (settings
    /// that keep its provider), in place in profiles.toml; its accounts stay signed in.
    Set(super::profile_set::SetArgs),
    /// Remove a profile, its accounts and their keychain entries; then the accounts' refresh
    /// tokens are revoked at the provider and a client the profile registered is deleted there
    /// (a failure there is a warning: the profile is gone).
    Remove {
        #[arg(add = profile_names())]
        name: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Remove without a word to the provider (e.g. offline): the refresh tokens stay valid
        /// there, and so does a client the profile registered.
        #[arg(long)]
        no_revoke: bool,
    },
    /// Replace a profile's client secret (read from standard input).
    SetSecret {
        #[arg(add = profile_names())]
        name: String,
    },
    /// Write profiles as TOML to share with a team (no secret, no account).
    Export(ExportArgs),
    /// Add the profiles of a shared file or URL; nothing is written unless all are valid.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct AddArgs {
    /// A name for the profile, e.g. `github` or `okta-work`.
    name: String,
    /// Fill endpoints, scopes and provider quirks from a preset (`latchkey presets` lists them);
    /// other flags override what it sets.
    #[arg(long)]
    preset: Option<String>,
    /// The preset's tenant, e.g. `organizations` or a tenant id (Microsoft).
    #[arg(long, requires = "preset")]
    tenant: Option<String>,
    /// The preset's instance URL, e.g. https://gitlab.example.com (GitLab self-managed).
    #[arg(long, requires = "preset")]
    base_url: Option<String>,
    /// Another variable of a (user) preset, as NAME=VALUE.
    #[arg(long = "preset-var", value_name = "NAME=VALUE", requires = "preset", value_parser = parse_param)]
    preset_vars: Vec<(String, String)>,
    /// OpenID Connect / OAuth issuer to discover the endpoints from; with --resource alone, the
    /// one of the resource's authorization servers to use.
    #[arg(long, conflicts_with_all = ["authorize_url", "token_url"], required_unless_present_any = ["authorize_url", "token_url", "preset", "resources"])]
    issuer: Option<String>,
    /// A protected resource (RFC 8707 resource indicator), e.g. an MCP server's URL: sent as
    /// `resource` on every authorization, token and refresh request (repeatable). Without
    /// --preset, --authorize-url and --token-url, the first one is also discovered from (RFC
    /// 9728): its authorization server, scopes, and a client registered for the profile
    /// (RFC 7591) unless --client-id is given.
    #[arg(long = "resource", value_name = "URL")]
    resources: Vec<String>,
    /// Authorization endpoint, for providers without discovery (with --token-url).
    #[arg(long, requires = "token_url")]
    authorize_url: Option<Url>,
    /// Token endpoint, for providers without discovery (alone for --grant client-credentials).
    #[arg(long)]
    token_url: Option<Url>,
    /// Device authorization endpoint (RFC 8628), when discovery does not give one.
    #[arg(long)]
    device_authorization_url: Option<Url>,
    /// How the profile gets tokens: a user signs in, or the client's own credentials.
    #[arg(long, value_enum, default_value = "authorization-code")]
    grant: GrantArg,
    /// Allow a legacy grant RFC 9700 discourages, for a provider with no better one (repeatable):
    /// then `login --implicit` or `login --password`.
    #[arg(long = "allow-legacy-grant", value_enum, value_name = "GRANT")]
    allow_legacy_grants: Vec<LegacyGrantArg>,
    /// An extra authorization request parameter, KEY=VALUE (repeatable), e.g. login_hint=me@example.com.
    #[arg(long = "auth-param", value_name = "KEY=VALUE", value_parser = parse_param)]
    auth_params: Vec<(String, String)>,
    /// An extra token request parameter, KEY=VALUE (repeatable), e.g. audience=https://api.example.com.
    #[arg(long = "token-param", value_name = "KEY=VALUE", value_parser = parse_param)]
    token_params: Vec<(String, String)>,
    /// Revocation endpoint (RFC 7009): with --authorize-url, or with --issuer when its metadata
    /// lists none (this one wins over discovery).
    #[arg(long)]
    pub(super) revocation_url: Option<Url>,
    /// Userinfo endpoint, with --authorize-url.
    #[arg(long, requires = "authorize_url")]
    pub(super) userinfo_url: Option<Url>,
    /// The client id registered at the provider (with --resource: optional, else Latchkey
    /// registers a client when the provider allows it).
    #[arg(long, required_unless_present = "resources")]
    pub(super) client_id: Option<String>,
    /// Scopes to ask for, separated by spaces or commas (none given: the preset's).
    #[arg(long, default_value = "")]
    scope: String,
    /// Read the client secret from standard input (it goes to the OS keychain).
    #[arg(long)]
    pub(super) client_secret_stdin: bool,
    /// How the client authenticates at the token endpoint [default: basic with a secret, none without].
    #[arg(long, value_enum)]
    auth_method: Option<AuthMethodArg>,
    /// How the browser hands the response back [default: loopback, or the preset's].
    #[arg(long, value_enum)]
    redirect: Option<RedirectArg>,
    /// A fixed redirect URI (e.g. http://127.0.0.1:8765/callback when the provider needs an exact port).
    #[arg(long)]
    redirect_uri: Option<Url>,
    /// The HTTPS proxy of this profile's requests, e.g. http://proxy.corp:3128; wins over
    /// HTTPS_PROXY and ALL_PROXY. No credentials here: those stay in HTTPS_PROXY.
    #[arg(long, value_name = "URL")]
    pub(super) proxy: Option<String>,
    /// A PEM file of one or more CA certificates to trust for this profile's requests, besides
    /// the system's (a company CA).
    #[arg(long, value_name = "PATH")]
    pub(super) ca_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(super) modern: profile_keys::ModernArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuthMethodArg {
    Basic,
    Post,
    None,
    /// A JWT signed by the client's key (RFC 7523); see --private-key-file.
    PrivateKeyJwt,
}

#[derive(Clone, Copy, ValueEnum)]
enum GrantArg {
    AuthorizationCode,
    ClientCredentials,
}

#[derive(Clone, Copy, ValueEnum)]
enum LegacyGrantArg {
    Implicit,
    Password,
}

#[derive(Clone, Copy, ValueEnum)]
enum RedirectArg {
    Loopback,
    DeepLink,
}

pub async fn run(engine: &Latchkey, command: ProfileCommand, io: &mut Io<'_>) -> Result<()> {
    match command {
        ProfileCommand::Add(args) => add(engine, *args, io).await,
        ProfileCommand::List { json } => list(engine, json, io).await,
        ProfileCommand::Show {
            name, jwks: true, ..
        } => profile_keys::print_jwks(engine, &name, io).await,
        ProfileCommand::Show { name, json, .. } => show(engine, &name, json, io).await,
        ProfileCommand::Remove {
            name,
            yes,
            no_revoke,
        } => super::profile_remove::run(engine, &name, yes, !no_revoke, io).await,
        ProfileCommand::SetSecret { name } => {
            engine.profile(&name)?;
            let secret = read_secret("Client secret")?;
            engine.set_client_secret(&name, secret).await?;
            errln!(
                io,
                "Stored the new client secret of `{name}` in the keychain."
            );
            Ok(())
        }
        ProfileCommand::Set(args) => super::profile_set::run(engine, args, io),
        ProfileCommand::Export(args) => profile_share::export(engine, args, io),
        ProfileCommand::Import(args) => profile_share::import(engine, args, io).await,
    }
}

async fn add(engine: &Latchkey, args: AddArgs, io: &mut Io<'_>) -> Result<()> {
    if !args.resources.is_empty()
        && args.preset.is_none()
        && args.authorize_url.is_none()
        && args.token_url.is_none()
    {
        return add_for_resource(engine, args, io).await;
    }
    let from_stdin = args.client_secret_stdin;
    let key_file = args.modern.private_key_file.clone();
    // With --issuer too: it wins over what discovery gives (or fails to give).
    let revocation = args.revocation_url.clone();
    let network =
        super::profile_set::network_flags(args.proxy.as_deref(), args.ca_file.as_deref())?;
    let scopes_given = !args.scope.trim().is_empty();
    let from_preset = args.preset.is_some();
    let mut form = args.into_form();
    form.extras.network = network;
    let request = build_profile(engine.config().dir(), form, || {
        profile_keys::client_credential(from_stdin, key_file.as_deref())
    })
    .map_err(in_flags)?;
    let profile = engine
        .add_profile_with_revocation(
            request.new,
            request.extras,
            request.client_secret,
            revocation,
        )
        .await?;
    outln!(io, "Added profile `{}`.", profile.name)?;
    if !scopes_given {
        outln!(io, "{}", chosen_scopes(&profile, from_preset))?;
    }
    for grant in &profile.allowed_legacy_grants {
        errln!(io, "warning: {}.", grant.warning());
    }
    // The provider must know the key before the first sign-in, or it answers invalid_client.
    if profile.auth_method == AuthMethod::PrivateKeyJwt {
        outln!(
            io,
            "Register the client's public key at the provider: `latchkey profile show {} --jwks` prints it.",
            profile.name
        )?;
    }
    if profile.grant == Grant::ClientCredentials {
        outln!(io, "Next: latchkey token {}", profile.name)?;
        return Ok(());
    }
    outln!(
        io,
        "Redirect URI to register at the provider: {}",
        redirect_to_register(&profile)
    )?;
    outln!(io, "Next: latchkey login {}", profile.name)
}

/// What `profile add` says of the scopes it chose, when none were given.
fn chosen_scopes(profile: &Profile, from_preset: bool) -> String {
    let change = format!(
        "change them with `latchkey profile set {} --scope '…'`",
        profile.name
    );
    let scopes = profile.scopes.join(" ");
    if profile.scopes.is_empty() {
        format!("Scopes: none (the provider's defaults apply); {change}.")
    } else if from_preset {
        format!("Scopes: {scopes} (the preset's); {change}.")
    } else {
        format!("Scopes: {scopes} (chosen from what the provider's discovery lists); {change}.")
    }
}

/// `profile add NAME --resource URL`: discovery from the resource (RFC 9728), a client given or
/// registered once (RFC 7591).
async fn add_for_resource(engine: &Latchkey, args: AddArgs, io: &mut Io<'_>) -> Result<()> {
    let network =
        super::profile_set::network_flags(args.proxy.as_deref(), args.ca_file.as_deref())?;
    if args.revocation_url.is_some() || args.userinfo_url.is_some() {
        return Err(Error::InvalidInput(
            "--revocation-url and --userinfo-url go with --issuer or --authorize-url; with --resource alone they are discovered".into(),
        ));
    }
    let secret = profile_keys::client_credential(
        args.client_secret_stdin,
        args.modern.private_key_file.as_deref(),
    )?;
    let client_id = args.client_id.clone().filter(|c| !c.trim().is_empty());
    let client_metadata_url = args.modern.client_metadata_url.clone();
    let form = args.into_form();
    let mut resources = form.extras.resources.clone();
    let resource = resources.remove(0);
    let request = ResourceProfile {
        name: form.name,
        resource,
        issuer: form.endpoints.issuer,
        client_id,
        client_metadata_url,
        scopes: form.scopes,
        auth_method: form.auth_method,
        redirect_uri: form.redirect_uri,
        extras: ProfileExtras {
            network,
            resources,
            ..form.extras
        },
    };
    profile_resource::add(engine, request, secret, io).await
}

impl AddArgs {
    /// The flags as the shared layer's form.
    pub(super) fn into_form(self) -> ProfileForm {
        let preset = self.preset.map(|name| {
            let named = [("tenant", self.tenant), ("base_url", self.base_url)]
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?)));
            PresetChoice {
                name,
                values: self.preset_vars.into_iter().chain(named).collect(),
            }
        });
        ProfileForm {
            name: self.name,
            client_id: self.client_id.unwrap_or_default(),
            preset,
            endpoints: EndpointsForm {
                issuer: self.issuer,
                authorization: self.authorize_url,
                token: self.token_url,
                revocation: self.revocation_url,
                userinfo: self.userinfo_url,
            },
            scopes: parse_scopes(&self.scope),
            auth_method: match (self.auth_method, &self.modern.private_key_file) {
                (None, Some(_)) => Some(AuthMethod::PrivateKeyJwt),
                (m, _) => m.map(|m| match m {
                    AuthMethodArg::Basic => AuthMethod::Basic,
                    AuthMethodArg::Post => AuthMethod::Post,
                    AuthMethodArg::None => AuthMethod::None,
                    AuthMethodArg::PrivateKeyJwt => AuthMethod::PrivateKeyJwt,
                }),
            },
            redirect: self.redirect.map(|r| match r {
                RedirectArg::Loopback => RedirectMode::Loopback,
                RedirectArg::DeepLink => RedirectMode::DeepLink,
            }),
            redirect_uri: self.redirect_uri,
            extras: ProfileExtras {
                grant: match self.grant {
                    GrantArg::AuthorizationCode => Grant::AuthorizationCode,
                    GrantArg::ClientCredentials => Grant::ClientCredentials,
                },
                device_authorization_endpoint: self.device_authorization_url,
                extra_authorize_params: self.auth_params.into_iter().collect(),
                extra_token_params: self.token_params.into_iter().collect(),
                allowed_legacy_grants: self
                    .allow_legacy_grants
                    .iter()
                    .map(|g| match g {
                        LegacyGrantArg::Implicit => LegacyGrant::Implicit,
                        LegacyGrantArg::Password => LegacyGrant::Password,
                    })
                    .collect(),
                network: Network::default(),
                resources: self.resources,
                dpop: self.modern.dpop,
                par: self.modern.par,
            },
        }
    }
}

/// A form problem in terms of this command's flags.
fn in_flags(e: FormError) -> Error {
    let message = match e {
        FormError::Engine(e) => return e,
        FormError::NoEndpoints => {
            "give --issuer, --preset, or --authorize-url and --token-url".into()
        }
        FormError::TokenEndpointAlone => {
            "--token-url alone is for --grant client-credentials; give --authorize-url too".into()
        }
        FormError::SecretRequired { preset } => format!(
            "the `{preset}` preset's provider needs the client secret: pass --client-secret-stdin and the secret on standard input"
        ),
    };
    Error::InvalidInput(message)
}

/// Where each profile's client secret stands (`None`: the keychain could not say). After one
/// keychain failure the rest are not asked: a hung keychain would cost its timeout each.
async fn secret_states(engine: &Latchkey, profiles: &[Profile]) -> Vec<Option<SecretState>> {
    let mut out = Vec::with_capacity(profiles.len());
    let mut keychain_ok = true;
    for p in profiles {
        let state = if keychain_ok {
            engine.client_secret_state(p).await.ok()
        } else {
            None
        };
        keychain_ok &= state.is_some();
        out.push(state);
    }
    out
}

fn secret_word(state: Option<SecretState>) -> &'static str {
    state.map_or("unknown", SecretState::as_str)
}

async fn list(engine: &Latchkey, json: bool, io: &mut Io<'_>) -> Result<()> {
    let profiles = engine.profiles()?;
    let states = secret_states(engine, &profiles).await;
    print_list(
        io,
        json,
        profiles.is_empty(),
        || {
            let out: Vec<_> = profiles
                .iter()
                .zip(&states)
                .map(|(p, s)| profile_json(p, *s))
                .collect();
            Ok(serde_json::Value::Array(out).to_string())
        },
        "No profiles yet. Add one with `latchkey profile add NAME --issuer URL --client-id ID`.",
        || list_table(&profiles, &states),
    )
}

/// `profile list`'s table: a header row, then one row per profile.
fn list_table(profiles: &[Profile], states: &[Option<SecretState>]) -> String {
    let rows: Vec<[String; 4]> = profiles
        .iter()
        .zip(states)
        .map(|(p, state)| {
            let provider = p
                .issuer
                .clone()
                .unwrap_or_else(|| p.authorization_endpoint.to_string());
            let secret = match state {
                Some(SecretState::Missing) => {
                    format!("missing: latchkey profile set-secret {}", p.name)
                }
                other => secret_word(*other).to_string(),
            };
            [p.name.clone(), p.client_id.clone(), provider, secret]
        })
        .collect();
    super::format::table(["NAME", "CLIENT ID", "PROVIDER", "CLIENT SECRET"], &rows)
}

async fn show(engine: &Latchkey, name: &str, json: bool, io: &mut Io<'_>) -> Result<()> {
    let p = engine.profile(name)?;
    let state = engine.client_secret_state(&p).await.ok();
    if json {
        return outln!(io, "{}", profile_json(&p, state));
    }
    let opt = |u: &Option<Url>| u.as_ref().map_or("-".to_string(), Url::to_string);
    outln!(io, "name:                   {}", p.name)?;
    outln!(io, "client id:              {}", sanitize(&p.client_id))?;
    let secret = match state {
        Some(SecretState::NotNeeded) => "none (public client)".to_string(),
        Some(SecretState::Stored) => "in the OS keychain".to_string(),
        Some(SecretState::Missing) => format!(
            "missing: set it with `latchkey profile set-secret {}`",
            p.name
        ),
        None => "in the OS keychain (which did not answer)".to_string(),
    };
    match profile_keys::client_key_line(engine, &p).await {
        Some(key) => outln!(io, "client key:             {key}")?,
        None => outln!(io, "client secret:          {secret}")?,
    }
    outln!(
        io,
        "client registration:    {}",
        profile_resource::client_origin(&p)
    )?;
    outln!(io, "auth method:            {}", p.auth_method.as_str())?;
    if p.dpop {
        outln!(
            io,
            "DPoP (RFC 9449):        yes: each account's tokens are bound to its own key"
        )?;
    }
    if p.par {
        outln!(
            io,
            "PAR (RFC 9126):         yes: the browser gets only a request_uri"
        )?;
    }
    outln!(
        io,
        "issuer:                 {}",
        sanitize(p.issuer.as_deref().unwrap_or("-"))
    )?;
    if p.grant == Grant::ClientCredentials {
        outln!(
            io,
            "authorization endpoint: - (no sign-in: client credentials)"
        )?;
    } else {
        outln!(io, "authorization endpoint: {}", p.authorization_endpoint)?;
    }
    outln!(io, "token endpoint:         {}", p.token_endpoint)?;
    outln!(
        io,
        "revocation endpoint:    {}",
        opt(&p.revocation_endpoint)
    )?;
    outln!(io, "userinfo endpoint:      {}", opt(&p.userinfo_endpoint))?;
    outln!(io, "scopes:                 {}", words(&p.scopes))?;
    outln!(io, "grant:                  {}", p.grant.as_str())?;
    outln!(
        io,
        "device authorization:   {}",
        opt(&p.device_authorization_endpoint)
    )?;
    let params = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            "-".to_string()
        } else {
            // Validated on every read; escaped here too, as provider text is.
            m.iter()
                .map(|(k, v)| format!("{}={}", sanitize(k), sanitize(v)))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    outln!(
        io,
        "authorization params:   {}",
        params(&p.extra_authorize_params)
    )?;
    outln!(
        io,
        "token params:           {}",
        params(&p.extra_token_params)
    )?;
    if !p.resources.is_empty() {
        outln!(io, "resources (RFC 8707):   {}", words(&p.resources))?;
    }
    if let Some(url) = &p.resource_metadata {
        outln!(io, "resource metadata:      {url}")?;
    }
    if !p.allowed_legacy_grants.is_empty() {
        let names: Vec<&str> = p.allowed_legacy_grants.iter().map(|g| g.as_str()).collect();
        outln!(io, "legacy grants allowed:  {}", names.join(" "))?;
    }
    outln!(
        io,
        "proxy:                  {}",
        p.proxy
            .as_ref()
            .map_or("- (HTTPS_PROXY, ALL_PROXY or none)".into(), redact)
    )?;
    outln!(
        io,
        "CA file:                {}",
        p.ca_file
            .as_ref()
            .map_or("- (the system's CAs)".into(), |f| sanitize(
                &f.display().to_string()
            ))
    )?;
    if p.grant == Grant::ClientCredentials {
        return Ok(());
    }
    outln!(io, "redirect:               {}", p.redirect.as_str())?;
    outln!(io, "redirect URI:           {}", redirect_to_register(&p))
}

fn profile_json(p: &Profile, secret: Option<SecretState>) -> serde_json::Value {
    let redirect = redirect_to_register(p);
    serde_json::json!({
        "name": p.name,
        "client_id": p.client_id,
        "issuer": p.issuer,
        "authorization_endpoint": p.authorization_endpoint,
        "token_endpoint": p.token_endpoint,
        "revocation_endpoint": p.revocation_endpoint,
        "userinfo_endpoint": p.userinfo_endpoint,
        "scopes": p.scopes,
        "auth_method": p.auth_method.as_str(),
        "has_client_secret": p.auth_method.needs_secret(),
        "client_secret": secret_word(secret),
        "redirect": p.redirect.as_str(),
        "redirect_uri": redirect.uri,
        "redirect_uri_note": redirect.any_port.then_some("any port: providers match a loopback redirect on any port (RFC 8252 §7.3)"),
        "loopback_endpoints": is_loopback(&p.token_endpoint),
        "grant": p.grant.as_str(),
        "device_authorization_endpoint": p.device_authorization_endpoint,
        "extra_authorize_params": p.extra_authorize_params,
        "extra_token_params": p.extra_token_params,
        "allowed_legacy_grants": p.allowed_legacy_grants,
        "proxy": p.proxy.as_ref().map(redact),
        "ca_file": p.ca_file,
        "resources": p.resources,
        "resource_metadata": p.resource_metadata,
        "dpop": p.dpop,
        "par": p.par,
        "pushed_authorization_request_endpoint": p.pushed_authorization_request_endpoint,
        "client_registration": match &p.registration {
            Some(r) => serde_json::json!({
                "method": "dynamic",
                "registration_endpoint": r.registration_endpoint,
                "registration_client_uri": r.registration_client_uri,
            }),
            None if p.client_metadata_document => {
                serde_json::json!({"method": "metadata-document"})
            }
            None => serde_json::json!({"method": "pre-registered"}),
        },
    })
}

#[path = "profile_tests.rs"]
#[cfg(test)]
mod tests;
