//! `latchkey profile add|list|show|remove|set-secret`.

use std::io::{IsTerminal, Read, Write};

use clap::{Args, Subcommand, ValueEnum};
use latchkey::engine::ManualEndpoints;
use latchkey::profile::{is_loopback, parse_scopes};
use latchkey::{AuthMethod, Endpoints, Error, Latchkey, NewProfile, Profile, RedirectMode, Result};
use oauth2::ClientSecret;
use url::Url;

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Register an OAuth client: discover its provider from an issuer, or give the endpoints.
    Add(Box<AddArgs>),
    /// List profiles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one profile, with the redirect URI to register at the provider.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile, its accounts and their keychain entries.
    Remove {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Replace a profile's client secret (read from standard input).
    SetSecret { name: String },
}

#[derive(Args)]
pub struct AddArgs {
    /// A name for the profile, e.g. `github` or `okta-work`.
    name: String,
    /// OpenID Connect / OAuth issuer to discover the endpoints from.
    #[arg(long, conflicts_with_all = ["authorize_url", "token_url"], required_unless_present = "authorize_url")]
    issuer: Option<String>,
    /// Authorization endpoint, for providers without discovery (with --token-url).
    #[arg(long, requires = "token_url")]
    authorize_url: Option<Url>,
    /// Token endpoint, for providers without discovery.
    #[arg(long, requires = "authorize_url")]
    token_url: Option<Url>,
    /// Revocation endpoint (RFC 7009), with --authorize-url.
    #[arg(long, requires = "authorize_url")]
    revocation_url: Option<Url>,
    /// Userinfo endpoint, with --authorize-url.
    #[arg(long, requires = "authorize_url")]
    userinfo_url: Option<Url>,
    /// The client id registered at the provider.
    #[arg(long)]
    client_id: String,
    /// Scopes to ask for, separated by spaces or commas.
    #[arg(long, default_value = "")]
    scope: String,
    /// Read the client secret from standard input (it goes to the OS keychain).
    #[arg(long)]
    client_secret_stdin: bool,
    /// How the client authenticates at the token endpoint [default: basic with a secret, none without].
    #[arg(long, value_enum)]
    auth_method: Option<AuthMethodArg>,
    /// How the browser hands the response back.
    #[arg(long, value_enum, default_value = "loopback")]
    redirect: RedirectArg,
    /// A fixed redirect URI (e.g. http://127.0.0.1:8765/callback when the provider needs an exact port).
    #[arg(long)]
    redirect_uri: Option<Url>,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuthMethodArg {
    Basic,
    Post,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum RedirectArg {
    Loopback,
    DeepLink,
}

pub async fn run(engine: &Latchkey, command: ProfileCommand) -> Result<()> {
    match command {
        ProfileCommand::Add(args) => add(engine, *args).await,
        ProfileCommand::List { json } => list(engine, json),
        ProfileCommand::Show { name, json } => show(engine, &name, json),
        ProfileCommand::Remove { name, yes } => remove(engine, &name, yes).await,
        ProfileCommand::SetSecret { name } => {
            engine.profile(&name)?;
            let secret = read_secret("Client secret")?;
            engine.set_client_secret(&name, secret).await?;
            eprintln!("Stored the new client secret of `{name}` in the keychain.");
            Ok(())
        }
    }
}

async fn add(engine: &Latchkey, args: AddArgs) -> Result<()> {
    let endpoints = match (args.issuer, args.authorize_url, args.token_url) {
        (Some(issuer), _, _) => Endpoints::Issuer(issuer),
        (None, Some(authorization), Some(token)) => Endpoints::Manual(Box::new(ManualEndpoints {
            authorization,
            token,
            revocation: args.revocation_url,
            userinfo: args.userinfo_url,
        })),
        _ => {
            return Err(Error::InvalidInput(
                "give --issuer, or --authorize-url and --token-url".into(),
            ));
        }
    };
    let secret = if args.client_secret_stdin {
        Some(read_secret("Client secret")?)
    } else {
        None
    };
    let new = NewProfile {
        name: args.name,
        client_id: args.client_id,
        endpoints,
        scopes: parse_scopes(&args.scope),
        auth_method: args.auth_method.map(|m| match m {
            AuthMethodArg::Basic => AuthMethod::Basic,
            AuthMethodArg::Post => AuthMethod::Post,
            AuthMethodArg::None => AuthMethod::None,
        }),
        redirect: match args.redirect {
            RedirectArg::Loopback => RedirectMode::Loopback,
            RedirectArg::DeepLink => RedirectMode::DeepLink,
        },
        redirect_uri: args.redirect_uri,
    };
    let profile = engine.add_profile(new, secret).await?;
    println!("Added profile `{}`.", profile.name);
    println!(
        "Redirect URI to register at the provider: {}",
        redirect_to_register(&profile)
    );
    println!("Next: latchkey login {}", profile.name);
    Ok(())
}

/// The redirect URI as the provider's client registration must list it.
pub fn redirect_to_register(profile: &Profile) -> String {
    match (&profile.redirect_uri, profile.redirect) {
        (Some(uri), _) => uri.to_string(),
        (None, RedirectMode::Loopback) => {
            "http://127.0.0.1/callback (any port, RFC 8252 §7.3)".into()
        }
        (None, RedirectMode::DeepLink) => Latchkey::deep_link_redirect(profile).to_string(),
    }
}

fn list(engine: &Latchkey, json: bool) -> Result<()> {
    let profiles = engine.profiles()?;
    if json {
        let out: Vec<_> = profiles.iter().map(profile_json).collect();
        println!("{}", serde_json::Value::Array(out));
        return Ok(());
    }
    if profiles.is_empty() {
        eprintln!(
            "No profiles yet. Add one with `latchkey profile add NAME --issuer URL --client-id ID`."
        );
        return Ok(());
    }
    for p in profiles {
        let source = p
            .issuer
            .clone()
            .unwrap_or_else(|| p.authorization_endpoint.to_string());
        println!("{}\t{}\t{}", p.name, p.client_id, source);
    }
    Ok(())
}

fn show(engine: &Latchkey, name: &str, json: bool) -> Result<()> {
    let p = engine.profile(name)?;
    if json {
        println!("{}", profile_json(&p));
        return Ok(());
    }
    let opt = |u: &Option<Url>| u.as_ref().map_or("-".to_string(), Url::to_string);
    println!("name:                   {}", p.name);
    println!("client id:              {}", p.client_id);
    println!(
        "client secret:          {}",
        if p.auth_method.needs_secret() {
            "in the OS keychain"
        } else {
            "none (public client)"
        }
    );
    println!("auth method:            {}", p.auth_method.as_str());
    println!(
        "issuer:                 {}",
        p.issuer.as_deref().unwrap_or("-")
    );
    println!("authorization endpoint: {}", p.authorization_endpoint);
    println!("token endpoint:         {}", p.token_endpoint);
    println!("revocation endpoint:    {}", opt(&p.revocation_endpoint));
    println!("userinfo endpoint:      {}", opt(&p.userinfo_endpoint));
    println!("scopes:                 {}", p.scopes.join(" "));
    println!("redirect:               {}", p.redirect.as_str());
    println!("redirect URI:           {}", redirect_to_register(&p));
    Ok(())
}

fn profile_json(p: &Profile) -> serde_json::Value {
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
        "redirect": p.redirect.as_str(),
        "redirect_uri": redirect_to_register(p),
        "loopback_endpoints": is_loopback(&p.token_endpoint),
    })
}

async fn remove(engine: &Latchkey, name: &str, yes: bool) -> Result<()> {
    engine.profile(name)?;
    let count = engine
        .accounts()?
        .iter()
        .filter(|a| a.profile == name)
        .count();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::InvalidInput(format!(
                "removing profile `{name}` deletes its {count} account(s) and their tokens; pass --yes to confirm"
            )));
        }
        eprint!("Remove profile `{name}` and its {count} account(s), tokens included? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::io("cannot read the answer", e))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing removed.");
            return Ok(());
        }
    }
    let removed = engine.remove_profile(name).await?;
    println!("Removed profile `{name}` and {} account(s).", removed.len());
    Ok(())
}

/// Reads a secret from standard input: hidden at a terminal, the whole input otherwise.
pub fn read_secret(prompt: &str) -> Result<ClientSecret> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|e| Error::io("cannot read the secret from the terminal", e))?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io("cannot read the secret from standard input", e))?;
        s.trim_end_matches(['\r', '\n']).to_string()
    };
    if value.is_empty() {
        return Err(Error::InvalidInput(
            "the client secret on standard input is empty".into(),
        ));
    }
    Ok(ClientSecret::new(value))
}
