//! Access rules as the front ends list them: the CLI's `access list` and the desktop app's
//! "Access rules" card, in the order the door weighs them. Reading and removing stay in
//! `door::rules`; this only selects and orders, so both front ends show the same thing.

use crate::door::rules::{self, Decision, Rule};
use crate::error::Result;
use crate::model::account::AccountId;
use crate::model::tokens::now;
use crate::store::config::Config;

/// A rule as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRule {
    pub rule: Rule,
    /// Past its `expires_at`: the door no longer weighs it (it stays in the file until removed).
    pub expired: bool,
}

/// Every rule in `access.toml`, most specific first.
pub fn all_rules(config: &Config) -> Result<Vec<ListedRule>> {
    Ok(ordered(rules::list(config)?, now()))
}

/// The rules that can decide for `account` (its own, its profile's and `*`'s), most specific
/// first: the first one in force whose program matches is the one the door applies.
pub fn account_rules(config: &Config, account: &AccountId) -> Result<Vec<ListedRule>> {
    Ok(for_account(rules::list(config)?, account, now()))
}

/// `rules` that target `account`, ordered as [`ordered`].
pub fn for_account(rules: Vec<Rule>, account: &AccountId, now: i64) -> Vec<ListedRule> {
    let mine = rules
        .into_iter()
        .filter(|r| r.target_rank(account).is_some())
        .collect();
    ordered(mine, now)
}

/// The door's order (`door::rules::deciding`): account over profile over `*`, a named program
/// over any, deny over ask over allow; expired rules last, as the door skips them. Stable:
/// equal rules keep the file's order.
pub fn ordered(rules: Vec<Rule>, now: i64) -> Vec<ListedRule> {
    let mut listed: Vec<ListedRule> = rules
        .into_iter()
        .map(|rule| ListedRule {
            expired: rule.expires_at.is_some_and(|t| t <= now),
            rule,
        })
        .collect();
    listed.sort_by_key(|l| std::cmp::Reverse(weight(l)));
    listed
}

fn weight(l: &ListedRule) -> (bool, u8, bool, Decision) {
    // The target's shape gives the rank `Rule::target_rank` gives for an account it matches.
    let target = match l.rule.target.as_str() {
        "*" => 1,
        t if t.contains('/') => 3,
        _ => 2,
    };
    (
        !l.expired,
        target,
        l.rule.program.is_some(),
        l.rule.decision,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::door::caller::{Arrival, Caller};
    use crate::door::rules::{NewRule, add, deciding};

    use crate::door::rules::tests::rule;

    fn ids(listed: &[ListedRule]) -> Vec<&str> {
        listed.iter().map(|l| l.rule.id.as_str()).collect()
    }

    fn alice() -> AccountId {
        AccountId::new("work", "alice")
    }

    #[test]
    fn an_accounts_rules_are_its_own_its_profiles_and_everyones_most_specific_first() {
        let mut old = rule("old", "work/alice", Some("gh"), Decision::Deny);
        old.expires_at = Some(99);
        let rules = vec![
            rule("any", "*", None, Decision::Allow),
            old,
            rule("prof", "work", None, Decision::Ask),
            rule("bob", "work/bob", None, Decision::Deny),
            rule("home", "home", None, Decision::Deny),
            rule("acct", "work/alice", None, Decision::Allow),
            rule("py-allow", "work/alice", Some("python3"), Decision::Allow),
            rule("py-deny", "work/alice", Some("python3"), Decision::Deny),
            rule("prof-py", "work", Some("python3"), Decision::Deny),
            rule("alice-as-profile", "alice", None, Decision::Deny),
        ];
        let listed = for_account(rules, &alice(), 100);
        assert_eq!(
            ids(&listed),
            [
                "py-deny", "py-allow", "acct", "prof-py", "prof", "any", "old"
            ]
        );
        assert!(listed.last().unwrap().expired);
        assert!(listed[..6].iter().all(|l| !l.expired));
    }

    #[test]
    fn the_first_listed_rule_that_matches_a_program_is_the_one_the_door_applies() {
        let rules = vec![
            rule("any", "*", Some("curl"), Decision::Deny),
            rule("prof", "work", None, Decision::Ask),
            rule("a", "work/alice", None, Decision::Allow),
            rule("d", "work/alice", None, Decision::Deny),
            rule("py", "work/alice", Some("python3"), Decision::Allow),
        ];
        let listed = for_account(rules.clone(), &alice(), now());
        for exe in ["/usr/bin/python3", "/usr/bin/curl", "/bin/true"] {
            let caller = Caller {
                arrival: Arrival::Agent,
                pid: Some(7),
                exe: Some(exe.into()),
                client_pid: None,
                detached: false,
            };
            let first = listed
                .iter()
                .find(|l| l.rule.program.as_deref().is_none_or(|p| caller.is(p)))
                .map(|l| l.rule.id.as_str());
            let door = deciding(&rules, &alice(), &caller).map(|r| r.id.as_str());
            assert_eq!(first, door, "{exe}");
        }
    }

    #[test]
    fn all_rules_are_listed_in_the_same_order_from_the_file() {
        let dir = std::env::temp_dir().join(format!("latchkey-api-access-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = Config::new(dir.clone());
        assert!(all_rules(&config).unwrap().is_empty(), "no file: no rules");
        let new = |target: &str, decision| NewRule {
            target: target.into(),
            program: None,
            decision,
            lasts: None,
        };
        let everyone = add(&config, new("*", Decision::Deny)).unwrap();
        let bob = add(&config, new("work/bob", Decision::Allow)).unwrap();
        let mine = add(&config, new("work/alice", Decision::Ask)).unwrap();
        let all = all_rules(&config).unwrap();
        assert_eq!(ids(&all), [mine.as_str(), bob.as_str(), everyone.as_str()]);
        let alices = account_rules(&config, &alice()).unwrap();
        assert_eq!(ids(&alices), [mine.as_str(), everyone.as_str()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
