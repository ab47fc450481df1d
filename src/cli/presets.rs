//! `latchkey presets`: the built-in presets and the user's own.

use latchkey::model::presets::{self, SecretNeed, Source};
use latchkey::{Latchkey, Result};

/// `latchkey presets`: the built-in presets and the user's.
pub fn list_presets(engine: &Latchkey, json: bool) -> Result<()> {
    let all = presets::all(engine.config().dir())?;
    if json {
        let out: Vec<_> = all
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "title": p.title,
                    "description": p.description,
                    "docs": p.docs,
                    "source": match &p.source {
                        Source::BuiltIn => "built-in".to_string(),
                        Source::File(path) => path.display().to_string(),
                    },
                    "issuer": p.issuer,
                    "authorize_url": p.authorize_url,
                    "token_url": p.token_url,
                    "device_authorization_url": p.device_authorization_url,
                    "scopes": p.scopes,
                    "variables": p.variables.iter().map(|(k, v)| (k.clone(), serde_json::json!({"default": v.default, "help": v.help}))).collect::<serde_json::Map<_, _>>(),
                    "client_secret_required": p.client_secret == SecretNeed::Required,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
        return Ok(());
    }
    for p in &all {
        let source = match &p.source {
            Source::BuiltIn => String::new(),
            Source::File(path) => format!(" [{}]", path.display()),
        };
        let options: Vec<String> = p
            .variables
            .iter()
            .map(|(k, v)| {
                let flag = format!("--{}", k.replace('_', "-"));
                match &v.default {
                    Some(d) => format!("{flag} (default {d})"),
                    None => flag,
                }
            })
            .collect();
        let options = if options.is_empty() {
            String::new()
        } else {
            format!("; {}", options.join(", "))
        };
        println!(
            "{}\t{}{source}\t{}{options}",
            p.name, p.title, p.description
        );
    }
    eprintln!(
        "Use one with `latchkey profile add NAME --preset PRESET --client-id ID`; add your own as {}",
        engine
            .config()
            .dir()
            .join("presets")
            .join("NAME.toml")
            .display()
    );
    Ok(())
}
