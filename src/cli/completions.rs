//! `latchkey completions SHELL`: the shell script that asks `latchkey` itself what to
//! complete (clap_complete's dynamic engine), so account and profile names come from the
//! config at each TAB. Reading them touches no keychain.

use clap::{Args, ValueEnum};
use std::ffi::OsStr;

use clap_complete::engine::{
    ArgValueCandidates, ArgValueCompleter, CompletionCandidate, ValueCompleter,
};
use clap_complete::env::EnvCompleter;
use latchkey::store::config::Config;
use latchkey::{Error, Result, store::paths};

use super::io::Io;

/// The variable that turns a `latchkey` run into a completion request.
pub const VAR: &str = "LATCHKEY_COMPLETE";

#[derive(Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Args)]
pub struct CompletionsArgs {
    shell: Shell,
}

/// `latchkey completions SHELL`: the script for a shell to source, which runs `program`.
pub fn run(args: CompletionsArgs, program: &str, io: &mut Io) -> Result<()> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Elvish => &clap_complete::env::Elvish,
        Shell::Powershell => &clap_complete::env::Powershell,
    };
    let mut script = Vec::new();
    if let Shell::Bash = args.shell {
        script = bash_registration(program).into_bytes();
    } else {
        shell
            .write_registration(VAR, "latchkey", "latchkey", program, &mut script)
            .map_err(|e| Error::io("cannot write the completion script", e))?;
    }
    io.out_bytes(&script)
}

/// clap_complete's bash registration, except for the words it sends: bash splits `NAME=ACCOUNT`
/// at `=` (and `:`, both in `COMP_WORDBREAKS`), so the words are put back together as typed
/// (pieces with no blank between them are one word), and the answers are cut back to the piece
/// bash completes.
fn bash_registration(program: &str) -> String {
    BASH_SCRIPT
        .replace("@VAR@", VAR)
        .replace("@PROGRAM@", &shell_quote(program))
}

const BASH_SCRIPT: &str = r#"
_clap_complete_latchkey() {
    local IFS=$'\013'
    local _CLAP_COMPLETE_COMP_TYPE=${COMP_TYPE}
    if compopt +o nospace 2> /dev/null; then
        local _CLAP_COMPLETE_SPACE=false
    else
        local _CLAP_COMPLETE_SPACE=true
    fi
    # The words as typed, up to the cursor: bash's pieces with no blank between them joined.
    local line=${COMP_LINE:0:COMP_POINT} pos=0 k=-1 i w rest blanks
    local words=()
    for ((i = 0; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        rest=${line:pos}
        blanks=${rest%%[![:space:]]*}
        if [[ $i -eq $COMP_CWORD ]]; then
            w=${rest:${#blanks}}
        fi
        if [[ $k -ge 0 && -z $blanks ]]; then
            words[k]+=$w
        else
            words[++k]=$w
        fi
        pos=$((pos + ${#blanks} + ${#w}))
    done
    # bash replaces only its own last piece (after a `=` or `:`): cut the answers to it.
    [[ $w == [=:] ]] && w=
    local cut=$((${#words[k]} - ${#w}))
    COMPREPLY=( $(         _CLAP_IFS="$IFS"         _CLAP_COMPLETE_INDEX="$k"         _CLAP_COMPLETE_COMP_TYPE="$_CLAP_COMPLETE_COMP_TYPE"         _CLAP_COMPLETE_SPACE="$_CLAP_COMPLETE_SPACE"         @VAR@="bash"         @PROGRAM@ -- "${words[@]}"     ) )
    if [[ $? != 0 ]]; then
        unset COMPREPLY
        return
    fi
    if [[ $cut -gt 0 ]]; then
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]:cut}
        done
    fi
    if [[ $_CLAP_COMPLETE_SPACE == false ]] && [[ "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _clap_complete_latchkey latchkey
else
    complete -o nospace -o bashdefault -F _clap_complete_latchkey latchkey
fi
"#;

/// `text` as one shell word.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn config() -> Option<Config> {
    paths::config_dir().ok().map(Config::new)
}

/// Completes account names: `PROFILE/LABEL`, and `PROFILE` alone (its default account).
pub fn account_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        all_account_names()
            .into_iter()
            .map(CompletionCandidate::new)
            .collect()
    })
}

/// The account names a bare profile name or `PROFILE/LABEL` may be: every account, and each
/// profile with accounts (its default).
fn all_account_names() -> Vec<String> {
    let accounts = config().and_then(|c| c.accounts().ok()).unwrap_or_default();
    let mut out: Vec<String> = accounts.iter().map(|a| a.id()).collect();
    let mut profiles: Vec<String> = accounts.iter().map(|a| a.profile.clone()).collect();
    profiles.sort_unstable();
    profiles.dedup();
    out.extend(profiles);
    out
}

/// Completes `NAME=ACCOUNT` (exec's `--env`): account names once `NAME=` is typed.
pub fn env_bindings() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| {
        let current = current.to_string_lossy();
        let Some((name, partial)) = current.split_once('=') else {
            return Vec::new();
        };
        all_account_names()
            .into_iter()
            .filter(|a| a.starts_with(partial))
            .map(|a| CompletionCandidate::new(format!("{name}={a}")))
            .collect()
    })
}

/// Completes an option's first value with account names (git-credential's `--install ACCOUNT
/// URL`): the URL after it is the user's.
pub fn first_value_accounts() -> ArgValueCompleter {
    struct First;
    impl ValueCompleter for First {
        fn complete(&self, current: &OsStr) -> Vec<CompletionCandidate> {
            self.complete_at(0, current)
        }
        fn complete_at(&self, index: usize, current: &OsStr) -> Vec<CompletionCandidate> {
            if index > 0 {
                return Vec::new();
            }
            let current = current.to_string_lossy();
            all_account_names()
                .into_iter()
                .filter(|a| a.starts_with(current.as_ref()))
                .map(CompletionCandidate::new)
                .collect()
        }
    }
    ArgValueCompleter::new(First)
}

/// Completes profile names.
pub fn profile_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        config()
            .and_then(|c| c.profiles().ok())
            .unwrap_or_default()
            .into_iter()
            .map(|p| CompletionCandidate::new(p.name))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::{Captured, with_closed_output};

    fn script(shell: Shell, program: &str) -> String {
        let mut c = Captured::default();
        run(CompletionsArgs { shell }, program, &mut c.io()).unwrap();
        assert_eq!(c.err(), "");
        c.out()
    }

    #[test]
    fn every_shells_script_asks_latchkey_through_the_variable() {
        for shell in [Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::Powershell] {
            let text = script(shell, "/opt/latchkey/bin/latchkey");
            assert!(text.contains(VAR), "{text}");
            assert!(text.contains("/opt/latchkey/bin/latchkey"), "{text}");
        }
    }

    #[test]
    fn the_bash_script_quotes_the_program_and_rejoins_split_words() {
        let text = script(Shell::Bash, "/opt/my apps/latchkey");
        assert!(
            !text.contains("@VAR@") && !text.contains("@PROGRAM@"),
            "a placeholder is left: {text}"
        );
        assert!(
            text.contains(
                "LATCHKEY_COMPLETE=\"bash\"         '/opt/my apps/latchkey' -- \"${words[@]}\""
            ),
            "{text}"
        );
        assert!(text.contains(
            "complete -o nospace -o bashdefault -o nosort -F _clap_complete_latchkey latchkey"
        ));
        assert_eq!(
            script(Shell::Bash, "latchkey"),
            bash_registration("latchkey")
        );
        assert!(script(Shell::Bash, "latchkey").contains("        latchkey -- \"${words[@]}\""));
    }

    #[test]
    fn shell_words_are_quoted_only_when_they_need_it() {
        assert_eq!(shell_quote("/usr/bin/latchkey"), "/usr/bin/latchkey");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn a_closed_stdout_ends_completions_quietly() {
        let (result, err) =
            with_closed_output(|io| run(CompletionsArgs { shell: Shell::Bash }, "latchkey", io));
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(err, "");
    }
}
