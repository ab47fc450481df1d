//! Access rules: which program may take which account's token. `access.toml` in the config
//! directory, one `[[rule]]` per rule, read strictly and edited in place like the other files
//! (hand edits and comments kept). Read on every request (cheaply: parsed again only when the
//! file changed), so a change takes effect at once, in the agent too.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::caller::Caller;
use crate::error::{Error, Result};
use crate::model::account::AccountId;
use crate::model::tokens::now;
use crate::store::config::Config;

pub const FILE: &str = "access.toml";
const KEY: &str = "rule";
const HEADER: &str = "# Latchkey access rules: which program may take which account's token.\n# Edit with `latchkey access`, or by hand. Keys starting with `x-` are yours.\n\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "DecisionDto"))]
pub enum Decision {
    Allow,
    Ask,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    /// An account (`profile/label`), a profile (all its accounts) or `*`.
    pub target: String,
    /// An absolute path, a bare file name, or `serve:NAME`; absent: any program.
    pub program: Option<String>,
    pub decision: Decision,
    /// Unix seconds after which the rule no longer applies.
    pub expires_at: Option<i64>,
}

impl Rule {
    /// How specific the rule is for `account` (account over profile over `*`, then a named
    /// program over any); `None` when it does not apply to `account` and `caller`.
    fn specificity(&self, account: &AccountId, caller: &Caller, now: i64) -> Option<(u8, u8)> {
        if self.expires_at.is_some_and(|t| t <= now) {
            return None;
        }
        let target = self.target_rank(account)?;
        let program = match &self.program {
            None => 0,
            Some(p) if caller.is(p) => 1,
            Some(_) => return None,
        };
        Some((target, program))
    }

    /// How specifically the rule's target names `account`: 3 the account, 2 its profile, 1 `*`;
    /// `None`: another account's. Public so that listings order rules as the door weighs them.
    pub fn target_rank(&self, account: &AccountId) -> Option<u8> {
        let is_account = self
            .target
            .split_once('/')
            .is_some_and(|(profile, label)| profile == account.profile && label == account.label);
        if is_account {
            Some(3)
        } else if self.target == account.profile {
            Some(2)
        } else if self.target == "*" {
            Some(1)
        } else {
            None
        }
    }
}

/// The rule that decides for `account` and `caller`: the most specific; on a tie, deny over
/// ask over allow. `None`: no rule applies.
pub fn deciding<'r>(rules: &'r [Rule], account: &AccountId, caller: &Caller) -> Option<&'r Rule> {
    let now = now();
    rules
        .iter()
        .filter_map(|r| Some((r.specificity(account, caller, now)?, r)))
        .max_by_key(|((target, program), r)| (*target, *program, r.decision))
        .map(|(_, r)| r)
}

/// A rule to add, as the user typed it.
pub struct NewRule {
    pub target: String,
    pub program: Option<String>,
    pub decision: Decision,
    /// Seconds from now.
    pub lasts: Option<i64>,
}

/// The rules as written (expired ones included, for `access list`).
pub fn list(config: &Config) -> Result<Vec<Rule>> {
    let rules: Vec<Rule> = config.read_list(FILE, KEY)?;
    // Ids name rules for `access remove` and edits in place: two rules with one id (a hand
    // edit) would make either act on the wrong one.
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = rules.iter().find(|r| !seen.insert(r.id.as_str())) {
        return Err(Error::InvalidInput(format!(
            "{}: the rule id {} appears twice; give one of them another id (8 hex digits)",
            config.dir().join(FILE).display(),
            twice.id.escape_debug()
        )));
    }
    Ok(rules)
}

/// Adds a rule; its id. A rule for the same target and program is changed in place instead
/// (it keeps its id, and the comments around it).
pub fn add(config: &Config, new: NewRule) -> Result<String> {
    check_program(new.program.as_deref())?;
    if new.target.is_empty() || new.target.chars().any(char::is_control) {
        return Err(Error::InvalidInput(
            "an access rule needs a target: an account, a profile or `*`".into(),
        ));
    }
    let expires_at = new.lasts.map(|s| now() + s);
    edit(config, |rules| {
        if let Some(old) = rules
            .iter_mut()
            .find(|r| r.target == new.target && r.program == new.program)
        {
            old.decision = new.decision;
            old.expires_at = expires_at;
            return Ok(old.id.clone());
        }
        let id = new_id();
        rules.push(Rule {
            id: id.clone(),
            target: new.target,
            program: new.program,
            decision: new.decision,
            expires_at,
        });
        Ok(id)
    })
}

/// Changes the rules in `access.toml`, in place (hand edits kept).
fn edit<R>(config: &Config, change: impl FnOnce(&mut Vec<Rule>) -> Result<R>) -> Result<R> {
    config.update_list(FILE, HEADER, KEY, |r: &Rule| r.id.clone(), change)
}

/// Removes the rule `id`; the rule removed.
pub fn remove(config: &Config, id: &str) -> Result<Rule> {
    remove_if(config, id, |_| true)
}

/// Removes rule `id` when `shown` still holds of it: the rule a window listed may have been
/// changed since (an answer to a prompt rewrites a rule in place, keeping its id).
pub fn remove_if(config: &Config, id: &str, shown: impl FnOnce(&Rule) -> bool) -> Result<Rule> {
    edit(config, |rules| {
        let Some(at) = rules.iter().position(|r| r.id == id) else {
            return Err(Error::NotFoundRule(id.to_string()));
        };
        if !shown(&rules[at]) {
            return Err(Error::InvalidInput(format!(
                "access rule {id} changed since it was listed; look at the rules again"
            )));
        }
        Ok(rules.remove(at))
    })
}

fn check_program(program: Option<&str>) -> Result<()> {
    let Some(p) = program else { return Ok(()) };
    let bad = p.is_empty()
        || p.chars().any(char::is_control)
        || (!p.starts_with('/') && !p.starts_with("serve:") && p.contains('/'));
    if bad {
        return Err(Error::InvalidInput(format!(
            "`{}` is not a program: give an absolute path (/usr/bin/python3), a file name (python3) or serve:NAME",
            p.escape_debug()
        )));
    }
    Ok(())
}

fn new_id() -> String {
    let n: u32 = rand::random();
    format!("{n:08x}")
}

/// `30s`, `10m`, `1h`, `2d` in seconds.
pub fn parse_duration(text: &str) -> std::result::Result<i64, String> {
    let split = text.len().saturating_sub(1);
    let (n, unit) = (
        text.get(..split).unwrap_or(""),
        text.get(split..).unwrap_or(""),
    );
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "`{text}`: give a number and a unit: 30s, 10m, 1h, 2d"
            ));
        }
    };
    match n.parse::<i64>() {
        Ok(n) if n > 0 && n < 100_000 => Ok(n * factor),
        _ => Err(format!(
            "`{text}`: give a number and a unit: 30s, 10m, 1h, 2d"
        )),
    }
}

/// The rules file read again only when it changed (its modification time, length and inode),
/// so that a request costs one `stat` however many rules there are.
#[derive(Default)]
pub struct RulesCache {
    seen: Mutex<Option<(Stamp, Arc<Vec<Rule>>)>>,
}

#[derive(Clone, PartialEq, Eq)]
struct Stamp(Option<(SystemTime, u64, u64)>);

fn stamp(path: &PathBuf) -> Stamp {
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    Stamp(std::fs::metadata(path).ok().map(|m| {
        #[cfg(unix)]
        let ino = m.ino();
        #[cfg(not(unix))]
        let ino = 0;
        (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), ino)
    }))
}

impl RulesCache {
    pub fn rules(&self, config: &Config) -> Result<Arc<Vec<Rule>>> {
        let path = config.dir().join(FILE);
        let now = stamp(&path);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((stamp, rules)) = seen.as_ref()
            && *stamp == now
            && now.0.is_some_and(|(modified, _, _)| {
                // A write within the same clock tick as the last read could keep the stamp:
                // trust it only for files older than a second.
                modified.elapsed().is_ok_and(|age| age.as_secs() >= 1)
            })
        {
            return Ok(rules.clone());
        }
        let rules = Arc::new(list(config)?);
        *seen = Some((now, rules.clone()));
        Ok(rules)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::door::caller::Arrival;

    fn account() -> AccountId {
        AccountId::new("work", "alice")
    }

    fn caller(exe: &str) -> Caller {
        Caller {
            arrival: Arrival::Agent,
            pid: Some(7),
            exe: Some(exe.into()),
            client_pid: None,
            detached: false,
        }
    }

    pub(crate) fn rule(id: &str, target: &str, program: Option<&str>, decision: Decision) -> Rule {
        Rule {
            id: id.into(),
            target: target.into(),
            program: program.map(Into::into),
            decision,
            expires_at: None,
        }
    }

    fn new_rule(
        target: &str,
        program: Option<&str>,
        decision: Decision,
        lasts: Option<i64>,
    ) -> NewRule {
        NewRule {
            target: target.into(),
            program: program.map(Into::into),
            decision,
            lasts,
        }
    }

    #[test]
    fn the_most_specific_rule_decides_and_deny_wins_a_tie() {
        let python = caller("/usr/bin/python3");
        let rules = vec![
            rule("any", "*", None, Decision::Deny),
            rule("prof", "work", None, Decision::Ask),
            rule("acct", "work/alice", None, Decision::Allow),
            rule("py", "work/alice", Some("python3"), Decision::Deny),
        ];
        assert_eq!(deciding(&rules, &account(), &python).unwrap().id, "py");
        assert_eq!(
            deciding(&rules, &account(), &caller("/usr/bin/curl"))
                .unwrap()
                .id,
            "acct"
        );
        assert_eq!(
            deciding(&rules[..2], &account(), &python).unwrap().id,
            "prof"
        );
        assert!(deciding(&[], &account(), &python).is_none());
        let tie = vec![
            rule("a", "work", None, Decision::Allow),
            rule("d", "work", None, Decision::Deny),
            rule("q", "work", None, Decision::Ask),
        ];
        assert_eq!(deciding(&tie, &account(), &python).unwrap().id, "d");
        let other = vec![rule("o", "home/bob", None, Decision::Deny)];
        assert!(deciding(&other, &account(), &python).is_none());
    }

    #[test]
    fn an_expired_rule_no_longer_applies() {
        let mut r = rule("x", "work/alice", None, Decision::Deny);
        r.expires_at = Some(now() - 1);
        assert!(deciding(&[r.clone()], &account(), &caller("/bin/true")).is_none());
        r.expires_at = Some(now() + 60);
        assert!(deciding(&[r], &account(), &caller("/bin/true")).is_some());
    }

    #[test]
    fn durations_and_programs_are_checked() {
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        for bad in ["", "h", "0h", "-1h", "1w", "1.5h", "ééh"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(check_program(Some("tools/ls")).is_err());
        assert!(check_program(Some("bad\u{1b}")).is_err());
        assert!(check_program(Some("/usr/bin/python3")).is_ok());
        assert!(check_program(Some("serve:ci")).is_ok());
    }

    #[test]
    fn rules_are_added_replaced_removed_and_hand_edits_kept() {
        let dir = std::env::temp_dir().join(format!("latchkey-rules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = Config::new(dir.clone());
        let first = add(
            &config,
            new_rule("work", Some("python3"), Decision::Deny, None),
        )
        .unwrap();
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("# mine\n{text}")).unwrap();
        let second = add(
            &config,
            new_rule("work", Some("python3"), Decision::Allow, Some(60)),
        )
        .unwrap();
        let rules = list(&config).unwrap();
        assert_eq!(
            rules.len(),
            1,
            "the same target and program: changed in place"
        );
        assert_eq!(second, first);
        assert_eq!(rules[0].decision, Decision::Allow);
        assert!(rules[0].expires_at.is_some());
        assert!(std::fs::read_to_string(&path).unwrap().contains("# mine"));
        assert_eq!(remove(&config, &second).unwrap().decision, Decision::Allow);
        assert!(remove(&config, &first).is_err());
        assert!(list(&config).unwrap().is_empty());
        // A hand-written file `list` refuses: its error.
        let refused = |text: &str| {
            std::fs::write(&path, text).unwrap();
            list(&config).unwrap_err().to_string()
        };
        let e = refused("[[rule]]\nid = \"x\"\ntarget = \"*\"\ndecison = \"deny\"\n");
        assert!(e.contains("line 4"), "{e}");
        // Two rules with one id: refused, so that no removal or edit acts on the wrong one.
        let e = refused(
            "[[rule]]\nid = \"a1\"\ntarget = \"*\"\ndecision = \"deny\"\n\n[[rule]]\nid = \"a1\"\ntarget = \"*\"\ndecision = \"allow\"\n",
        );
        assert!(e.contains("appears twice"), "{e}");
        // A removal of a rule that changed since it was shown is refused, and keeps it.
        std::fs::remove_file(&path).unwrap();
        let id = add(&config, new_rule("*", None, Decision::Deny, None)).unwrap();
        let e = remove_if(&config, &id, |r| r.decision == Decision::Allow).unwrap_err();
        assert!(e.to_string().contains("changed since"), "{e}");
        assert_eq!(list(&config).unwrap().len(), 1);
        assert!(remove_if(&config, &id, |r| r.decision == Decision::Deny).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
