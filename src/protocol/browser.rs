//! Opening the system browser. `$BROWSER` wins, read the way xdg-open reads it (a `:`-separated
//! list of commands, `%s` standing for the URL, else the URL appended); otherwise the desktop's
//! handler through the `open` crate.

use std::process::{Command, Stdio};

/// Why no browser opened, in words fit for a sentence: the launcher's own error (an exit
/// status, a debug value) means nothing to the user and is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBrowser {
    /// The desktop's URL handler (xdg-open, `open`, `start`) failed or is missing.
    Desktop,
    /// None of the commands in `$BROWSER` could be started.
    Variable,
}

impl std::fmt::Display for NoBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoBrowser::Desktop => "no browser could be opened here",
            NoBrowser::Variable => "the browser named in $BROWSER could not be started",
        })
    }
}

impl std::error::Error for NoBrowser {}

/// Opens `url` in the user's browser.
pub fn open(url: &str) -> Result<(), NoBrowser> {
    if let Some(browsers) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        let browsers = browsers.to_string_lossy().into_owned();
        for command in browsers.split(':').filter(|c| !c.trim().is_empty()) {
            if spawn(command, url).is_ok() {
                return Ok(());
            }
        }
        return Err(NoBrowser::Variable);
    }
    open::that_detached(url).map_err(|_| NoBrowser::Desktop)
}

fn spawn(command: &str, url: &str) -> std::io::Result<()> {
    let mut words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    if words.iter().any(|w| w.contains("%s")) {
        for w in &mut words {
            *w = w.replace("%s", url);
        }
    } else {
        words.push(url.to_string());
    }
    let (program, args) = words
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reap it whenever it exits, so a long-running app collects no zombies.
    std::thread::spawn(move || child.wait());
    Ok(())
}
