//! `latchkey history`: who took which token, newest last.

use clap::Args;
use latchkey::store::history::{self, Entry};
use latchkey::{Result, store::paths};

use super::completions::account_names;
use super::format::rfc3339;

#[derive(Args)]
pub struct HistoryArgs {
    /// Only this account (`PROFILE/LABEL`), or a profile's accounts (`PROFILE`).
    #[arg(long, add = account_names())]
    account: Option<String>,
    /// The most recent N hand-outs.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

pub fn run(args: HistoryArgs) -> Result<()> {
    let entries = history::read(&paths::state_dir()?)?;
    let matching: Vec<&Entry> = entries
        .iter()
        .filter(|e| args.account.as_deref().is_none_or(|a| names(e, a)))
        .collect();
    let shown = &matching[matching.len().saturating_sub(args.limit)..];
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(shown).unwrap_or_default()
        );
        return Ok(());
    }
    if shown.is_empty() {
        println!("no tokens handed out yet");
        return Ok(());
    }
    println!("TIME                  ACCOUNT  HOW  VIA  PID  PROGRAM");
    for e in shown {
        println!(
            "{}  {}  {}  {}  {}  {}",
            rfc3339(e.time),
            printable(&e.account),
            e.how,
            e.via,
            e.pid.map_or("-".into(), |p| p.to_string()),
            e.exe.as_deref().map_or("-".into(), printable)
        );
    }
    Ok(())
}

/// Whether `entry` is of the account `name`, or of an account of the profile `name`.
fn names(entry: &Entry, name: &str) -> bool {
    entry.account == name
        || (!name.contains('/')
            && entry
                .account
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// File names may hold terminal escapes: shown with `?` instead of control characters.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
