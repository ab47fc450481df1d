//! `latchkey access`: which program may take which account's token. Rules live in the config
//! directory's `access.toml`; the door reads them on every request, the agent's included.

use clap::{Args, Subcommand};
use latchkey::api::access::all_rules;
use latchkey::api::integrations::resolve_program;
use latchkey::door::rules::{self, Decision, NewRule, Rule};
use latchkey::model::untrusted::sanitize;
use latchkey::{Error, Latchkey, Result};

use super::completions::account_names;
use super::format::rfc3339;

#[derive(Subcommand)]
pub enum AccessCommand {
    /// The rules, the most specific first and expired ones last (`--json` for scripts).
    List {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Let a program take the target's tokens; prints the rule's id.
    Allow(RuleArgs),
    /// Ask the user each time, in the desktop app or by a desktop notification through the
    /// agent (refused at once when nobody can be asked); prints the rule's id.
    Ask(RuleArgs),
    /// Refuse the target's tokens to a program (exit code 9 for it); prints the rule's id.
    Deny(RuleArgs),
    /// Remove the rule ID.
    Remove {
        /// The id `access list` shows.
        id: String,
    },
}

#[derive(Args)]
pub struct RuleArgs {
    /// An account (`PROFILE/LABEL`), a profile (all its accounts) or `*` (every account).
    #[arg(add = account_names())]
    target: String,
    /// The program: an absolute path (the caller's executable), a file name (`python3`) or
    /// `serve:NAME`; without it, any program.
    #[arg(long)]
    program: Option<String>,
    /// The rule expires after this long: `30s`, `10m`, `1h`, `2d`.
    #[arg(long = "for", value_name = "DURATION", value_parser = rules::parse_duration)]
    lasts: Option<i64>,
}

pub fn run(engine: &Latchkey, command: AccessCommand) -> Result<()> {
    let config = engine.config();
    let (args, decision) = match command {
        AccessCommand::List { json } => return list(engine, json),
        AccessCommand::Remove { id } => {
            let rule = rules::remove(config, &id)?;
            eprintln!("removed: {}", describe(&rule));
            return Ok(());
        }
        AccessCommand::Allow(a) => (a, Decision::Allow),
        AccessCommand::Ask(a) => (a, Decision::Ask),
        AccessCommand::Deny(a) => (a, Decision::Deny),
    };
    check_target(engine, &args.target)?;
    let program = args.program.map(|p| as_executed(&p));
    let id = rules::add(
        config,
        NewRule {
            target: args.target,
            program,
            decision,
            lasts: args.lasts,
        },
    )?;
    println!("{id}");
    Ok(())
}

/// The name rules compare for a bare program name: the file that actually runs. `python3` is
/// often a link to `python3.11`, and the door sees the executable, so the rule names that
/// (and says so).
fn as_executed(program: &str) -> String {
    if program.contains('/') || program.contains(':') {
        return program.to_string();
    }
    // Found as `exec` finds a program: the same PATH rules, one place.
    let found = resolve_program(std::ffi::OsStr::new(program)).ok();
    let real = found
        .and_then(|f| std::fs::canonicalize(&f).ok())
        .and_then(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()));
    match real {
        Some(real) if real != program => {
            eprintln!(
                "note: `{program}` runs `{real}` on this PATH: the rule names `{real}`, the executable the door sees"
            );
            real
        }
        _ => program.to_string(),
    }
}

/// A target must name something that exists now (a typo would silently match nothing).
fn check_target(engine: &Latchkey, target: &str) -> Result<()> {
    if target == "*" {
        return Ok(());
    }
    match target.split_once('/') {
        Some(_) => engine.account(target).map(|_| ()),
        None => engine.profile(target).map(|_| ()),
    }
}

fn list(engine: &Latchkey, json: bool) -> Result<()> {
    let all = all_rules(engine.config())?;
    if json {
        let rules: Vec<&Rule> = all.iter().map(|l| &l.rule).collect();
        let text = serde_json::to_string_pretty(&rules)
            .map_err(|e| Error::InvalidInput(format!("cannot print the rules: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    if all.is_empty() {
        eprintln!(
            "no access rules: every program may take every account's token (add one with `latchkey access deny|ask|allow`)"
        );
        return Ok(());
    }
    let rows: Vec<[String; 5]> = all
        .iter()
        .map(|l| {
            let r = &l.rule;
            [
                r.id.clone(),
                r.decision.as_str().into(),
                sanitize(&r.target),
                r.program.as_deref().map_or("any".into(), sanitize),
                r.expires_at.map_or("never".into(), |t| {
                    if l.expired {
                        format!("{} (expired)", rfc3339(t))
                    } else {
                        rfc3339(t)
                    }
                }),
            ]
        })
        .collect();
    let header = ["ID", "DECISION", "TARGET", "PROGRAM", "EXPIRES"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    Ok(())
}

fn describe(rule: &Rule) -> String {
    format!(
        "{} {} for {}",
        rule.decision.as_str(),
        sanitize(&rule.target),
        rule.program
            .as_deref()
            .map_or("any program".into(), sanitize)
    )
}
