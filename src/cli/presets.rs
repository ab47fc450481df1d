//! `latchkey presets`: the built-in presets and the user's own.

use latchkey::model::presets::{self, SecretNeed, Source};
use latchkey::{Latchkey, Result};

use super::io::{Io, errln, outln};

/// `latchkey presets`: the built-in presets and the user's.
pub fn list_presets(engine: &Latchkey, json: bool, io: &mut Io) -> Result<()> {
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
        return outln!(io, "{}", serde_json::Value::Array(out));
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
                let flag = latchkey::model::presets::flag(k);
                match &v.default {
                    Some(d) => format!("{flag} (default {d})"),
                    None => flag,
                }
            })
            .collect();
        let options = match (options.is_empty(), p.description.is_empty()) {
            (true, _) => String::new(),
            (false, true) => options.join(", "),
            (false, false) => format!("; {}", options.join(", ")),
        };
        outln!(
            io,
            "{}\t{}{source}\t{}{options}",
            p.name,
            p.title,
            p.description
        )?;
    }
    errln!(
        io,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::{Captured, engine};

    #[test]
    fn the_built_in_presets_are_listed_one_a_line_and_the_hint_goes_to_stderr() {
        let engine = engine();
        let mut c = Captured::default();
        list_presets(&engine, false, &mut c.io()).unwrap();
        let out = c.out();
        let names: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert_eq!(names, ["github", "gitlab", "google", "microsoft"]);
        assert!(out.lines().all(|l| l.split('\t').count() == 3), "{out}");
        let microsoft = out.lines().last().unwrap();
        assert!(
            microsoft.ends_with("; --tenant (default common)"),
            "{microsoft}"
        );
        assert_eq!(
            c.err(),
            format!(
                "Use one with `latchkey profile add NAME --preset PRESET --client-id ID`; add your own as {}\n",
                engine.config().dir().join("presets/NAME.toml").display()
            )
        );
    }

    #[test]
    fn a_user_preset_shows_its_file_and_settings_and_json_its_variables() {
        let engine = engine();
        let dir = engine.config().dir().join("presets");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("local.toml"),
            "title = \"Local\"\nissuer = \"{base_url}\"\nscopes = [\"openid\"]\n[variables.base_url]\nhelp = \"the server URL\"\n",
        )
        .unwrap();
        let mut c = Captured::default();
        list_presets(&engine, false, &mut c.io()).unwrap();
        let local = c
            .out()
            .lines()
            .find(|l| l.starts_with("local\t"))
            .map(str::to_string)
            .expect("the user's preset");
        let file = dir.join("local.toml");
        assert!(
            local == format!("local\tLocal [{}]\t--base-url", file.display()),
            "{local}"
        );
        let mut c = Captured::default();
        list_presets(&engine, true, &mut c.io()).unwrap();
        let all: serde_json::Value = serde_json::from_str(&c.out()).unwrap();
        assert_eq!(c.err(), "", "JSON goes without the hint");
        let by_name = |n: &str| {
            all.as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == n)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            by_name("microsoft")["variables"]["tenant"]["default"],
            "common"
        );
        assert_eq!(by_name("google")["client_secret_required"], true);
        assert_eq!(by_name("github")["source"], "built-in");
        let local = by_name("local");
        assert_eq!(local["source"], file.display().to_string());
        assert_eq!(local["variables"]["base_url"]["help"], "the server URL");
        assert_eq!(
            local["variables"]["base_url"]["default"],
            serde_json::Value::Null
        );
    }
}
