//! The door: the one place a token leaves Latchkey. Every front end (the CLI's direct path,
//! the tool helpers, the agent, the desktop app's copy and tray, the proxy, the endpoint and
//! forwarded sockets) hands out tokens only through [`Door::hand_out`]: it takes the account,
//! the purpose, the caller as the front end's door established it ([`Caller`]) and the
//! freshness wanted; it decides by the access rules ([`rules`]), asks the user when a rule says
//! so ([`ask`]), answers from the agent's memory ([`cache`]) or the engine, and writes the one
//! history line. Nothing else hands out a token or writes history (`scripts/check-layout.py`).
//!
//! May import the engine and the parts; never `api`, the agent or a front end.

pub mod ask;
pub mod cache;
pub mod caller;
mod purpose;
pub mod rules;
#[cfg(target_os = "linux")]
mod sock_diag;

use std::path::PathBuf;
use std::sync::Arc;

pub use ask::{Answer, Asker, Question};
pub use caller::{Arrival, Caller};
pub use purpose::{Handed, Purpose};
use rules::{Decision, NewRule, Rule, RulesCache};

use crate::Latchkey;
use crate::error::{Error, Hint, Result};
use crate::model::account::{self, AccountId};
use crate::model::secret::KeyPem;
use crate::protocol::dpop::{self, ProofTarget};
use crate::protocol::keys::SigningKey;
use crate::store::history::{self, Entry};

/// The most freshness a caller past this machine may ask for, in seconds.
pub const MAX_REMOTE_MIN_VALID: u32 = 600;

/// One request at the door.
#[derive(Debug, Clone)]
pub struct Request {
    /// The account as the user named it (`profile/label`, or a profile).
    pub account: String,
    pub purpose: Purpose,
    /// Seconds the token must stay valid; ignored for [`Purpose::Refresh`] (refreshed now).
    pub min_valid: u32,
    pub caller: Caller,
    /// The request the token goes with, when the caller wants a DPoP proof for it (RFC 9449).
    pub proof: Option<ProofTarget>,
}

/// What the door decided, as history records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    allowed: bool,
    /// `allowed`, `refused`, `by hand`, or what the user answered.
    how: String,
    rule: Option<String>,
    reason: String,
}

pub struct Door {
    engine: Arc<Latchkey>,
    cache: Option<cache::Cache>,
    rules: RulesCache,
    history: Option<PathBuf>,
    asker: Option<Arc<dyn Asker>>,
}

impl Door {
    /// A door over `engine` that writes history to the user's state directory.
    pub fn new(engine: Arc<Latchkey>) -> Self {
        Door {
            engine,
            cache: None,
            rules: RulesCache::default(),
            history: crate::store::paths::state_dir().ok(),
            asker: None,
        }
    }

    /// Keeps tokens in memory between requests (the agent).
    pub fn with_cache(mut self) -> Self {
        self.cache = Some(cache::Cache::default());
        self
    }

    /// Who asks the user when a rule says ask.
    pub fn with_asker(mut self, asker: Arc<dyn Asker>) -> Self {
        self.asker = Some(asker);
        self
    }

    /// History in `dir` instead of the state directory (tests).
    pub fn with_history(mut self, dir: Option<PathBuf>) -> Self {
        self.history = dir;
        self
    }

    pub fn engine(&self) -> &Latchkey {
        &self.engine
    }

    pub fn engine_arc(&self) -> &Arc<Latchkey> {
        &self.engine
    }

    pub fn cache(&self) -> Option<&cache::Cache> {
        self.cache.as_ref()
    }

    /// A token for `request`, or why not. Refusals are [`Error::Refused`] (exit code 9).
    pub async fn hand_out(&self, mut request: Request) -> Result<Handed> {
        // A caller past this machine (a container, a forwarded socket, a proxy's client) may
        // not make every request a refresh at the provider.
        if matches!(
            request.caller.arrival,
            Arrival::Forwarded { .. } | Arrival::Serve { .. } | Arrival::Proxy
        ) {
            request.min_valid = request.min_valid.min(MAX_REMOTE_MIN_VALID);
        }
        // Nor by asking for one outright: the far side of a forwarded socket gets a token valid
        // for the longest it may ask. (`latchkey proxy` refreshes once after its upstream
        // refused a token; a client of `serve` cannot ask.)
        let forwarded = matches!(request.caller.arrival, Arrival::Forwarded { .. });
        if request.purpose == Purpose::Refresh && forwarded {
            request.min_valid = MAX_REMOTE_MIN_VALID;
        }
        let forced_refresh = request.purpose == Purpose::Refresh && !forwarded;
        let accounts = self.engine.accounts()?;
        if let Some(cache) = &self.cache {
            cache.retain(&accounts);
        }
        // A client credentials profile has no account before its first token.
        let account = account::resolve(&accounts, &request.account)
            .ok()
            .filter(|a| a.label != crate::engine::CLIENT_LABEL)
            .cloned();
        let id = match &account {
            Some(a) => AccountId::new(&a.profile, &a.label),
            None => self.engine.account_id_for(&request.account)?,
        };
        let name = id.to_string();
        let verdict = self.decide(&id, &request).await?;
        // A DPoP-bound token is useless to a tool that sends it as a Bearer token (and to a
        // client of `serve`, which gets no proofs). Said only to a caller the rules allow.
        if verdict.allowed
            && account.as_ref().is_some_and(|a| a.dpop_bound)
            && matches!(
                request.purpose,
                Purpose::Exec | Purpose::Git | Purpose::Kube | Purpose::Serve
            )
        {
            return Err(Error::InvalidInput(format!(
                "the tokens of `{name}` are DPoP-bound (RFC 9449): {} would send the token without the proof its server wants",
                match request.purpose {
                    Purpose::Git => "git",
                    Purpose::Kube => "kubectl",
                    Purpose::Serve => "a client of `latchkey serve`",
                    _ => "a program given it in its environment",
                }
            ))
            .with_hint(Hint::UseProxyForDpop { account: name }));
        }
        if !verdict.allowed {
            self.record(&name, &request, &verdict);
            let program = request.caller.program();
            let hint = match &verdict.rule {
                Some(rule) => Hint::ChangeAccessRule {
                    id: rule.clone(),
                    account: name.clone(),
                    program: program.clone(),
                },
                None => Hint::AllowProgram {
                    account: name.clone(),
                    program: program.clone(),
                },
            };
            return Err(Error::Refused {
                account: name,
                program,
                rule: verdict.rule,
                reason: verdict.reason,
            }
            .with_hint(hint));
        }
        let purpose = request.purpose;
        let cached = match (&self.cache, purpose, &account) {
            (_, Purpose::Refresh, _) if forced_refresh => None,
            (Some(cache), _, Some(account))
                if account.needs_sign_in.is_none()
                    && !(purpose.avoids_rejected() && self.rejected_mark(&id)) =>
            {
                cache.fresh(account, i64::from(request.min_valid))
            }
            _ => None,
        };
        let (handed, key) = match cached {
            Some(cached) => cached,
            None => {
                let min = i64::from(request.min_valid);
                let (account, tokens) = match purpose {
                    Purpose::Refresh if forced_refresh => self.engine.refresh(&name).await?,
                    p if p.avoids_rejected() => self.engine.token_not_rejected(&name, min).await?,
                    _ => self.engine.token(&name, min).await?,
                };
                if let Some(cache) = &self.cache {
                    cache.put(&account, &tokens);
                }
                let key = tokens.dpop_key.clone().filter(|_| tokens.dpop_bound);
                (Handed::new(&account, &tokens), key)
            }
        };
        // Only a bound token gets a proof, and only for a resource's request.
        if let (Some(target), Some(_)) = (&request.proof, &key) {
            self.check_proof_target(&id, target)?;
        }
        let handed = prove(handed, key, request.proof.as_ref())?;
        self.record(&handed.account, &request, &verdict);
        Ok(handed)
    }

    /// The stored refresh token of `name`, for a copy the user clicks in the app: a hand-out
    /// like any other (decided and recorded), though never asked about.
    pub async fn refresh_token_by_hand(
        &self,
        name: &str,
        caller: Caller,
    ) -> Result<(crate::Account, Option<zeroize::Zeroizing<String>>)> {
        let (account, tokens) = self.engine.stored_tokens(name).await?;
        let request = Request {
            account: account.id(),
            purpose: Purpose::Copy,
            min_valid: 0,
            caller,
            proof: None,
        };
        let verdict = Verdict {
            allowed: true,
            how: "by hand".into(),
            rule: None,
            reason: "the refresh token, copied in the app".into(),
        };
        let token = tokens
            .refresh_token
            .map(|t| zeroize::Zeroizing::new(t.secret().clone()));
        if token.is_some() {
            self.record(&account.id(), &request, &verdict);
        }
        Ok((account, token))
    }

    /// A proof is for a request to a resource: never for the provider's own endpoints, where a
    /// caller holding only an access token has no business.
    fn check_proof_target(&self, id: &AccountId, target: &ProofTarget) -> Result<()> {
        let Ok(profile) = self.engine.profile(&id.profile) else {
            return Ok(());
        };
        let same =
            |u: &url::Url| u.origin() == target.url.origin() && u.path() == target.url.path();
        let provider = [
            Some(&profile.token_endpoint),
            profile.revocation_endpoint.as_ref(),
            profile.pushed_authorization_request_endpoint.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(same);
        if provider {
            return Err(Error::InvalidInput(format!(
                "a DPoP proof is made for requests to resources, not to the provider's endpoint {} (profile `{}`)",
                target.url, id.profile
            )));
        }
        Ok(())
    }

    async fn decide(&self, account: &AccountId, request: &Request) -> Result<Verdict> {
        let caller = &request.caller;
        if caller.arrival.by_hand() {
            return Ok(Verdict {
                allowed: true,
                how: "by hand".into(),
                rule: None,
                reason: String::new(),
            });
        }
        let rules = self.rules.rules(self.engine.config())?;
        let rule = rules::deciding(&rules, account, caller);
        let (decision, rule_id) = match rule {
            Some(Rule { decision, id, .. }) => (*decision, Some(id.clone())),
            // Forwarded sockets reach past this machine: an administrator of the remote one
            // could use them. Asked unless a rule says otherwise.
            None if matches!(caller.arrival, Arrival::Forwarded { .. }) => (Decision::Ask, None),
            None => (Decision::Allow, None),
        };
        let rule_words = |id: &Option<String>| match id {
            Some(id) => format!("access rule {id}"),
            None => "the default for forwarded requests".into(),
        };
        match decision {
            Decision::Allow => Ok(Verdict {
                allowed: true,
                how: "allowed".into(),
                rule: rule_id,
                reason: String::new(),
            }),
            Decision::Deny => Ok(Verdict {
                allowed: false,
                how: "refused".into(),
                reason: format!("{} denies it", rule_words(&rule_id)),
                rule: rule_id,
            }),
            Decision::Ask => Ok(self.ask(account, request, rule_id).await),
        }
    }

    async fn ask(&self, account: &AccountId, request: &Request, rule: Option<String>) -> Verdict {
        let caller = &request.caller;
        // Shown to the user: a path may hold bidi or control characters to look like another.
        let sanitize = crate::model::untrusted::sanitize;
        let arrival = match &caller.arrival {
            Arrival::Forwarded {
                destination: Some(d),
            } => format!("forwarded over ssh from {}", sanitize(d)),
            other => other.as_str().into(),
        };
        let question = Question {
            account: sanitize(&account.to_string()),
            program: sanitize(&caller.program()),
            pid: caller.pid,
            purpose: request.purpose,
            arrival,
        };
        let refused = |how: &str, reason: String| Verdict {
            allowed: false,
            how: how.into(),
            rule: rule.clone(),
            reason,
        };
        let asking = match &self.asker {
            Some(asker) => asker.ask(question).await,
            None => None,
        };
        let Some(answer) = asking else {
            return refused(
                "refused: nobody to ask",
                "the access rules say ask, and there is nobody to ask (neither the desktop app nor a desktop notification with actions, through the agent)".into(),
            );
        };
        let answer = match tokio::time::timeout(ask::ANSWER_WITHIN, answer).await {
            Ok(Ok(answer)) => answer,
            _ => {
                return refused(
                    "refused: no answer",
                    format!(
                        "the access rules say ask, and nobody answered within {} s",
                        ask::ANSWER_WITHIN.as_secs()
                    ),
                );
            }
        };
        let remembered = match answer {
            Answer::AllowOnce => None,
            Answer::AllowForAnHour => Some((Decision::Allow, Some(3600))),
            Answer::AlwaysAllow => Some((Decision::Allow, None)),
            Answer::Deny => Some((Decision::Deny, None)),
        };
        // A program the door could not name gets no rule: the answer holds for this request.
        // Nor does a forwarded request allow more than once: a rule names the `ssh` client,
        // and would allow every session to every host. A deny is kept.
        let remembered = match (&caller.arrival, remembered) {
            (Arrival::Forwarded { .. }, Some((Decision::Allow, _))) => None,
            (_, r) => r,
        };
        let mut written = None;
        if let (Some((decision, lasts)), Some(program)) = (remembered, rule_program(caller)) {
            let new = NewRule {
                target: account.to_string(),
                program: Some(program),
                decision,
                lasts,
            };
            match rules::add(self.engine.config(), new) {
                Ok(id) => written = Some(id),
                Err(e) => eprintln!("latchkey: the answer could not be kept as a rule: {e}"),
            }
        }
        let how = format!("asked: {}", answer.as_str());
        let rule = written.or(rule);
        if answer == Answer::Deny {
            Verdict {
                allowed: false,
                how,
                rule,
                reason: "you denied it when asked".into(),
            }
        } else {
            Verdict {
                allowed: true,
                how,
                rule,
                reason: String::new(),
            }
        }
    }

    /// Whether a server reported the account's token rejected (see `reject_token`): then the
    /// engine decides, not the cache.
    fn rejected_mark(&self, id: &AccountId) -> bool {
        self.engine
            .config()
            .account_file("rejected", &id.profile, &id.label, "sha256")
            .exists()
    }

    fn record(&self, account: &str, request: &Request, verdict: &Verdict) {
        let Some(dir) = &self.history else {
            return;
        };
        let caller = &request.caller;
        let from = match &caller.arrival {
            Arrival::Window => Some("window".to_string()),
            Arrival::Tray => Some("tray".to_string()),
            Arrival::Forwarded { destination } => destination.clone(),
            Arrival::Serve { name } => Some(format!("serve:{name}")),
            _ => None,
        };
        let entry = Entry {
            time: crate::model::tokens::now(),
            account: account.to_string(),
            how: request.purpose.as_str().into(),
            via: caller.arrival.as_str().into(),
            pid: caller.pid,
            exe: caller
                .exe
                .as_ref()
                .map(|e| e.to_string_lossy().into_owned()),
            client_pid: caller.client_pid,
            from,
            decision: Some(verdict.how.clone()),
            rule: verdict.rule.clone(),
        };
        if let Err(e) = history::append(dir, &entry) {
            eprintln!("latchkey: the hand-out was not recorded in the history: {e}");
        }
    }
}

/// The program a remembered answer names: the executable's path, or the serve session.
fn rule_program(caller: &Caller) -> Option<String> {
    match (&caller.arrival, &caller.exe) {
        (Arrival::Serve { name }, _) => Some(format!("serve:{name}")),
        (_, Some(exe)) => Some(exe.to_string_lossy().into_owned()),
        _ => None,
    }
}

/// Marks a DPoP-bound token as such and, when the caller named its request, signs the proof
/// that goes with it (`ath` binds the proof to this token).
fn prove(mut handed: Handed, key: Option<KeyPem>, target: Option<&ProofTarget>) -> Result<Handed> {
    let Some(key) = key else {
        return Ok(handed);
    };
    handed.token_type = Some("DPoP".into());
    if let Some(target) = target {
        let unusable = |e: crate::protocol::keys::KeyError| {
            Error::InvalidInput(format!(
                "the DPoP key of `{}` cannot sign: {e}",
                handed.account
            ))
        };
        let key = SigningKey::from_pem(key.secret()).map_err(unusable)?;
        let proof = dpop::proof(&key, target, Some(&handed.access_token)).map_err(unusable)?;
        handed.dpop_proof = Some(zeroize::Zeroizing::new(proof));
    }
    Ok(handed)
}

#[allow(dead_code)]
fn _send_probe(door: &'static Door, e: &'static Latchkey) {
    fn is_send<T: Send>(_: T) {}
    is_send(e.token("x", 1));
    is_send(e.refresh("x"));
    is_send(door.hand_out(Request {
        account: String::new(),
        purpose: Purpose::Token,
        min_valid: 0,
        caller: Caller::remote(Arrival::Proxy),
        proof: None,
    }));
}
