//! The streams a verb prints to: standard output and error in the binary, buffers in the unit
//! tests beside each verb. A verb prints with [`outln!`] (its output: `?` passes a failed
//! write on) and [`errln!`] (messages for the user: a failed write is ignored, as the
//! message is not the verb's result).

use std::fmt;
use std::io::{BufRead, IsTerminal, Read, Write};

use latchkey::{Error, Result};

/// Where a verb's output and its messages go.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// What a failed write of a verb's output is called ([`finish`] knows it by this).
const OUTPUT: &str = "cannot write to standard output";

impl Io<'_> {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    /// Runs `verb` on this process's standard output and error (unlocked: a notice printed by
    /// another thread meanwhile is not held up).
    pub fn std<T>(verb: impl FnOnce(&mut Io) -> T) -> T {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        verb(&mut Io {
            out: &mut out,
            err: &mut err,
        })
    }

    /// Writes `text` to the output (see [`outln!`]).
    pub fn out_fmt(&mut self, text: fmt::Arguments) -> Result<()> {
        self.out.write_fmt(text).map_err(|e| Error::io(OUTPUT, e))
    }

    /// Writes `bytes` to the output as they are.
    pub fn out_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| Error::io(OUTPUT, e))
    }

    /// Writes `text` to the messages, ignoring a failure (see [`errln!`]).
    pub fn err_fmt(&mut self, text: fmt::Arguments) {
        let _ = self.err.write_fmt(text);
        let _ = self.err.flush();
    }
}

/// How much of a piped standard input [`read_hidden`] takes.
pub enum Piped {
    /// The first line (a password: what follows may be meant for the program).
    FirstLine,
    /// All of it (a client secret or a key may span lines).
    Whole,
}

/// Reads `what` (e.g. "the password"): hidden behind `prompt` at a terminal, from standard
/// input otherwise, without its line ending; empty is refused.
pub fn read_hidden(prompt: &str, what: &str, piped: Piped) -> Result<String> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|e| Error::io(format!("cannot read {what} from the terminal"), e))?
    } else {
        let mut s = String::new();
        let mut stdin = std::io::stdin().lock();
        match piped {
            Piped::FirstLine => stdin.read_line(&mut s).map(|_| ()),
            Piped::Whole => stdin.read_to_string(&mut s).map(|_| ()),
        }
        .map_err(|e| Error::io(format!("cannot read {what} from standard input"), e))?;
        s.trim_end_matches(['\r', '\n']).to_string()
    };
    if value.is_empty() {
        return Err(Error::InvalidInput(format!("{what} is empty")));
    }
    Ok(value)
}

/// A verb's result, except that a reader which stopped reading (`latchkey history --json |
/// head -5`: a closed pipe) ends the verb quietly, with exit code 0. Where SIGPIPE keeps its
/// default action (the printing verbs on Unix, see `quiet_on_closed_stdout`) the signal ends
/// the process first, as it does for other Unix tools.
pub fn finish(result: Result<()>) -> Result<()> {
    match result {
        Err(Error::Io { context, source })
            if context == OUTPUT && source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        other => other,
    }
}

/// `println!` to a verb's output: `outln!(io, "…", args)?`.
macro_rules! outln {
    ($io:expr) => {
        $io.out_fmt(format_args!("\n"))
    };
    ($io:expr, $($arg:tt)*) => {
        $io.out_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` to a verb's output: `out!(io, "…", args)?`.
macro_rules! out {
    ($io:expr, $($arg:tt)*) => {
        $io.out_fmt(format_args!($($arg)*))
    };
}

/// `eprintln!` to a verb's messages.
macro_rules! errln {
    ($io:expr, $($arg:tt)*) => {
        $io.err_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` to a verb's messages.
macro_rules! err {
    ($io:expr, $($arg:tt)*) => {
        $io.err_fmt(format_args!($($arg)*))
    };
}

pub(crate) use {err, errln, out, outln};

/// A list verb's output: the JSON when asked for (an empty list too), else the table, or
/// `nothing_yet` on the messages when there is nothing to list (a script reading the output
/// then gets nothing).
pub fn print_list(
    io: &mut Io,
    json: bool,
    empty: bool,
    as_json: impl FnOnce() -> Result<String>,
    nothing_yet: &str,
    as_table: impl FnOnce() -> String,
) -> Result<()> {
    if json {
        return outln!(io, "{}", as_json()?);
    }
    if empty {
        errln!(io, "{nothing_yet}");
        return Ok(());
    }
    out!(io, "{}", as_table())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::{Captured, ClosedPipe};

    #[test]
    fn output_and_messages_go_to_their_own_streams() {
        let mut c = Captured::default();
        let result = (|| -> Result<()> {
            let io = &mut c.io();
            outln!(io, "one {}", 1)?;
            out!(io, "two")?;
            outln!(io)?;
            errln!(io, "note: {}", "x");
            err!(io, "? ");
            Ok(())
        })();
        assert!(result.is_ok());
        assert_eq!(c.out(), "one 1\ntwo\n");
        assert_eq!(c.err(), "note: x\n? ");
    }

    #[test]
    fn a_closed_output_ends_the_verb_quietly_and_other_failures_do_not() {
        let mut pipe = ClosedPipe(std::io::ErrorKind::BrokenPipe);
        let mut err = Vec::new();
        let io = &mut Io {
            out: &mut pipe,
            err: &mut err,
        };
        let written = outln!(io, "x");
        assert!(written.is_err());
        assert!(finish(written).is_ok());
        let mut full = ClosedPipe(std::io::ErrorKind::StorageFull);
        let io = &mut Io {
            out: &mut full,
            err: &mut err,
        };
        let e = finish(outln!(io, "x")).expect_err("a full disk is an error");
        assert_eq!(e.kind(), latchkey::ErrorKind::Other);
        assert!(e.to_string().starts_with(OUTPUT), "{e}");
        assert!(err.is_empty());
    }
}
