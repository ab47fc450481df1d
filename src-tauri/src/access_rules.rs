//! An account's access rules in its details view, and their removal by id. Which rules and in
//! what order come from the shared layer (`api::access`, as `latchkey access list`); removal is
//! the door's own (`door::rules::remove`, which edits access.toml in place). A rule holds no
//! token; neither does what is sent to the window.

use latchkey::api::access::{ListedRule, account_rules as rules_of};
use latchkey::door::rules;
use latchkey::model::account::AccountId;
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use crate::error_dto::{ErrorDto, ErrorKindDto};
use crate::state::AppState;
use latchkey::model::untrusted::sanitize;

/// The door's own decision (TypeScript generated from it).
pub use latchkey::door::rules::Decision as DecisionDto;

/// What a rule names: the account itself, its whole profile, or every account (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum RuleScopeDto {
    Account,
    Profile,
    Everyone,
}

/// One rule that can decide for the account, most specific first in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccessRuleDto {
    /// What `latchkey access remove` and `remove_access_rule` take.
    pub id: String,
    pub decision: DecisionDto,
    /// As written in access.toml: `profile/label`, `profile` or `*`.
    pub target: String,
    pub scope: RuleScopeDto,
    /// A path, a file name or `serve:NAME`; `null`: any program.
    pub program: Option<String>,
    /// Unix seconds; `null`: never.
    #[ts(type = "number | null")]
    pub expires_at: Option<i64>,
    /// Past its expiry: the door no longer weighs it.
    pub expired: bool,
}

impl AccessRuleDto {
    fn of(listed: ListedRule, account: &AccountId) -> Self {
        let scope = match listed.rule.target_rank(account) {
            Some(3) => RuleScopeDto::Account,
            Some(2) => RuleScopeDto::Profile,
            _ => RuleScopeDto::Everyone,
        };
        let r = listed.rule;
        AccessRuleDto {
            id: r.id,
            decision: r.decision,
            // Shown as text; a hand-edited file may hold bidi or control characters.
            target: sanitize(&r.target),
            scope,
            program: r.program.as_deref().map(sanitize),
            expires_at: r.expires_at,
            expired: listed.expired,
        }
    }
}

fn joined(e: tauri::Error) -> ErrorDto {
    ErrorDto::new(ErrorKindDto::Other, e.to_string())
}

/// The rules that can decide for `account` (its own, its profile's, `*`'s), as the door
/// weighs them.
#[tauri::command]
pub async fn account_rules(
    state: State<'_, AppState>,
    account: String,
) -> Result<Vec<AccessRuleDto>, ErrorDto> {
    let engine = state.engine()?;
    let listed = tauri::async_runtime::spawn_blocking(move || {
        let id = engine.account(&account)?.account_id();
        let rules = rules_of(engine.config(), &id)?;
        Ok::<_, latchkey::Error>(
            rules
                .into_iter()
                .map(|l| AccessRuleDto::of(l, &id))
                .collect(),
        )
    })
    .await
    .map_err(joined)??;
    Ok(listed)
}

/// Removes rule `id` from access.toml (the rest of the file, comments included, is kept): only
/// a rule that applies to `account` and is still the one listed (`decision`, `program`).
#[tauri::command]
pub async fn remove_access_rule(
    state: State<'_, AppState>,
    account: String,
    id: String,
    decision: DecisionDto,
    program: Option<String>,
) -> Result<(), ErrorDto> {
    let engine = state.engine()?;
    tauri::async_runtime::spawn_blocking(move || {
        let account = engine.account(&account)?.account_id();
        rules::remove_if(engine.config(), &id, |r| {
            r.target_rank(&account).is_some()
                && r.decision == decision
                && r.program.as_deref().map(sanitize) == program
        })
    })
    .await
    .map_err(joined)??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey::door::rules::Rule;

    fn listed(target: &str, program: Option<&str>, expired: bool) -> ListedRule {
        ListedRule {
            rule: Rule {
                id: "3f9a0c1d".into(),
                target: target.into(),
                program: program.map(Into::into),
                decision: DecisionDto::Deny,
                expires_at: expired.then_some(5),
            },
            expired,
        }
    }

    #[test]
    fn the_scope_says_what_the_rule_names() {
        let alice = AccountId::new("work", "alice");
        let scope = |t| AccessRuleDto::of(listed(t, None, false), &alice).scope;
        assert_eq!(scope("work/alice"), RuleScopeDto::Account);
        assert_eq!(scope("work"), RuleScopeDto::Profile);
        assert_eq!(scope("*"), RuleScopeDto::Everyone);
        let dto = AccessRuleDto::of(listed("work", Some("/usr/bin/gh"), true), &alice);
        assert_eq!(dto.program.as_deref(), Some("/usr/bin/gh"));
        assert_eq!((dto.expires_at, dto.expired), (Some(5), true));
        assert_eq!(dto.decision, DecisionDto::Deny);
    }

    #[test]
    fn what_reaches_the_window_has_no_field_for_a_token() {
        let alice = AccountId::new("work", "alice");
        let json =
            serde_json::to_value(AccessRuleDto::of(listed("*", None, false), &alice)).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "decision",
                "expired",
                "expiresAt",
                "id",
                "program",
                "scope",
                "target"
            ]
        );
        assert_eq!(json["decision"], "deny");
        assert_eq!(json["scope"], "everyone");
    }
}
