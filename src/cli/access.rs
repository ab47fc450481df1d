//! `latchkey access`: which program may take which account's token. Rules live in the config
//! directory's `access.toml`; the door reads them on every request, the agent's included.

use clap::{Args, Subcommand};
use latchkey::api::access::{ListedRule, all_rules};
use latchkey::api::integrations::resolve_program;
use latchkey::door::rules::{self, Decision, NewRule, Rule};
use latchkey::model::untrusted::sanitize;
use latchkey::{Error, Latchkey, Result};

use super::completions::account_names;
use super::format::{rfc3339, table};
use super::io::{Io, errln, outln, print_list};

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

pub fn run(engine: &Latchkey, command: AccessCommand, io: &mut Io) -> Result<()> {
    let config = engine.config();
    let (args, decision) = match command {
        AccessCommand::List { json } => return list(engine, json, io),
        AccessCommand::Remove { id } => {
            let rule = rules::remove(config, &id)?;
            errln!(io, "removed: {}", describe(&rule));
            return Ok(());
        }
        AccessCommand::Allow(a) => (a, Decision::Allow),
        AccessCommand::Ask(a) => (a, Decision::Ask),
        AccessCommand::Deny(a) => (a, Decision::Deny),
    };
    check_target(engine, &args.target)?;
    let program = args.program.map(|p| as_executed(&p, io));
    let id = rules::add(
        config,
        NewRule {
            target: args.target,
            program,
            decision,
            lasts: args.lasts,
        },
    )?;
    outln!(io, "{id}")
}

/// The name rules compare for a bare program name: the file that actually runs. `python3` is
/// often a link to `python3.11`, and the door sees the executable, so the rule names that
/// (and says so).
fn as_executed(program: &str, io: &mut Io) -> String {
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
            errln!(
                io,
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

fn list(engine: &Latchkey, json: bool, io: &mut Io) -> Result<()> {
    let all = all_rules(engine.config())?;
    print_list(
        io,
        json,
        all.is_empty(),
        || {
            let rules: Vec<&Rule> = all.iter().map(|l| &l.rule).collect();
            serde_json::to_string_pretty(&rules)
                .map_err(|e| Error::InvalidInput(format!("cannot print the rules: {e}")))
        },
        "no access rules: every program may take every account's token (add one with `latchkey access deny|ask|allow`)",
        || rules_table(&all),
    )
}

/// `access list`'s table: a header row, then one row per rule.
fn rules_table(all: &[ListedRule]) -> String {
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
    table(["ID", "DECISION", "TARGET", "PROGRAM", "EXPIRES"], &rows)
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::testing::{
        Captured, captured, engine, engine_with_account, engine_with_profile,
    };

    fn access(engine: &Latchkey, command: AccessCommand) -> (Result<()>, Captured) {
        captured(|io| run(engine, command, io))
    }

    fn rule(target: &str, program: Option<&str>, lasts: Option<i64>) -> RuleArgs {
        RuleArgs {
            target: target.into(),
            program: program.map(str::to_string),
            lasts,
        }
    }

    /// The id a rule command printed: one line of 8 hex digits, and nothing else.
    fn printed_id((result, c): (Result<()>, Captured)) -> String {
        result.unwrap();
        let out = c.out();
        let id = out.strip_suffix('\n').expect("one line").to_string();
        assert!(
            id.len() == 8 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "{out:?}"
        );
        assert_eq!(c.err(), "");
        id
    }

    #[tokio::test]
    async fn rules_print_their_ids_and_list_the_most_specific_first() {
        let engine = engine_with_account("work/alice").await;
        let any = printed_id(access(&engine, AccessCommand::Allow(rule("*", None, None))));
        let old = printed_id(access(
            &engine,
            AccessCommand::Ask(rule("work", Some("no-such-program-here"), Some(-10))),
        ));
        let deny = printed_id(access(
            &engine,
            AccessCommand::Deny(rule("work/alice", Some("/usr/bin/git"), None)),
        ));
        let (result, c) = access(&engine, AccessCommand::List { json: false });
        result.unwrap();
        let out = c.out();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert_eq!(
            lines[0],
            "ID        DECISION  TARGET      PROGRAM               EXPIRES"
        );
        assert_eq!(
            lines[1],
            format!("{deny}  deny      work/alice  /usr/bin/git          never")
        );
        assert_eq!(
            lines[2],
            format!("{any}  allow     *           any                   never")
        );
        assert!(
            lines[3].starts_with(&format!(
                "{old}  ask       work        no-such-program-here  "
            )) && lines[3].ends_with("Z (expired)"),
            "{out}"
        );

        let (result, c) = access(&engine, AccessCommand::List { json: true });
        result.unwrap();
        let rules: Vec<Rule> = serde_json::from_str(&c.out()).unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, [deny.as_str(), any.as_str(), old.as_str()]);
        assert_eq!(rules[0].decision, Decision::Deny);

        let (result, c) = access(&engine, AccessCommand::Remove { id: deny.clone() });
        result.unwrap();
        assert_eq!(c.out(), "");
        assert_eq!(c.err(), "removed: deny work/alice for /usr/bin/git\n");
        let (result, _) = access(&engine, AccessCommand::Remove { id: deny });
        assert_eq!(result.unwrap_err().kind(), latchkey::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn a_rule_for_the_same_target_and_program_keeps_its_id() {
        let engine = engine_with_profile("work").await;
        let first = printed_id(access(
            &engine,
            AccessCommand::Allow(rule("work", None, None)),
        ));
        let again = printed_id(access(
            &engine,
            AccessCommand::Deny(rule("work", None, Some(60))),
        ));
        assert_eq!(first, again);
    }

    #[test]
    fn a_target_that_does_not_exist_is_refused_and_no_rules_is_said_on_stderr() {
        let engine = engine();
        let (result, c) = access(&engine, AccessCommand::Deny(rule("work/bob", None, None)));
        assert_eq!(result.unwrap_err().kind(), latchkey::ErrorKind::NotFound);
        assert_eq!(c.out(), "");
        let (result, _) = access(&engine, AccessCommand::Allow(rule("work", None, None)));
        assert_eq!(result.unwrap_err().kind(), latchkey::ErrorKind::NotFound);
        let (result, _) = access(
            &engine,
            AccessCommand::Allow(rule("*", Some("bin/python3"), None)),
        );
        assert_eq!(result.unwrap_err().kind(), latchkey::ErrorKind::Usage);
        let (result, c) = access(&engine, AccessCommand::List { json: false });
        result.unwrap();
        assert_eq!(c.out(), "");
        assert!(
            c.err()
                .starts_with("no access rules: every program may take every account's token")
        );
        let (result, c) = access(&engine, AccessCommand::List { json: true });
        result.unwrap();
        assert_eq!(c.out(), "[]\n");
    }

    #[derive(Parser)]
    struct Access {
        #[command(subcommand)]
        command: AccessCommand,
    }

    #[test]
    fn a_bad_duration_is_a_usage_error_with_exit_code_2() {
        for bad in ["10", "1w", "h", "0s", ""] {
            let parsed = Access::try_parse_from(["access", "allow", "work", "--for", bad]);
            let e = parsed.err().expect("refused");
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
            assert!(e.to_string().contains("--for <DURATION>"), "{e}");
        }
        let ok = Access::try_parse_from(["access", "deny", "*", "--for", "2d"]).unwrap();
        assert!(matches!(
            ok.command,
            AccessCommand::Deny(RuleArgs {
                lasts: Some(172_800),
                ..
            })
        ));
    }
}
