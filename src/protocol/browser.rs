//! Opening the system browser. `$BROWSER` wins, read the way xdg-open reads it (a `:`-separated
//! list of commands, `%s` standing for the URL, else the URL appended); otherwise the desktop's
//! handler through the `open` crate.

use std::process::{Command, Stdio};

use crate::error::{Error, Result};

pub fn open(url: &str) -> Result<()> {
    if let Some(browsers) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        let browsers = browsers.to_string_lossy().into_owned();
        let mut last_error = None;
        for command in browsers.split(':').filter(|c| !c.trim().is_empty()) {
            match spawn(command, url) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(format!("{command}: {e}")),
            }
        }
        return Err(Error::io(
            "cannot start the browser named in $BROWSER",
            std::io::Error::other(last_error.unwrap_or_default()),
        ));
    }
    open::that_detached(url).map_err(|e| Error::io("cannot open the system browser", e))
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
