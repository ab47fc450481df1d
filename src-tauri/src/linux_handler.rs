//! Registers Latchkey as the `latchkey://` handler at runtime (dev builds, AppImage), through
//! the deep-link plugin, then makes the `Exec=` line one that every opener can run.
//!
//! The plugin writes `Exec="/path/to/latchkey-desktop" %u`. xdg-utils' `xdg-open` in generic
//! mode (no desktop environment detected: minimal window managers, Xvfb) takes the first word
//! of `Exec` literally, quotes included, and fails with "Permission denied". When the path
//! needs no quoting we write it bare; otherwise we escape it per the Desktop Entry spec.

use std::path::Path;

/// `Exec=` value for `exe` that both spec-following launchers and xdg-open's generic mode run.
pub fn exec_line(exe: &str) -> String {
    format!("{} %u", exec_program(exe))
}

/// `exe` as the program of an `Exec=` line: bare when it needs no quoting, else quoted.
pub fn exec_program(exe: &str) -> String {
    let plain = exe
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,@=".contains(c));
    if plain {
        exe.to_string()
    } else {
        // Desktop Entry spec: quote, and escape `"`, `` ` ``, `$` and `\` inside quotes.
        let mut quoted = String::from("\"");
        for c in exe.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        quoted
    }
}

/// Rewrites the `Exec=` line of the handler entry the plugin wrote. Returns whether it changed.
pub fn fix_exec(desktop_file: &Path, exe: &str) -> std::io::Result<bool> {
    let text = std::fs::read_to_string(desktop_file)?;
    let want = format!("Exec={}", exec_line(exe));
    let mut changed = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("Exec=") && line != want {
                changed = true;
                want.clone()
            } else {
                line.to_string()
            }
        })
        .collect();
    if changed {
        let tmp = desktop_file.with_extension("desktop.tmp");
        std::fs::write(&tmp, lines.join("\n") + "\n")?;
        std::fs::rename(&tmp, desktop_file)?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_stay_unquoted() {
        assert_eq!(
            exec_line("/opt/latchkey/latchkey-desktop"),
            "/opt/latchkey/latchkey-desktop %u"
        );
        assert_eq!(
            exec_line("/home/a/My Apps/L.AppImage"),
            "\"/home/a/My Apps/L.AppImage\" %u"
        );
        assert_eq!(exec_line("/x/$y"), "\"/x/\\$y\" %u");
    }

    #[test]
    fn rewrites_only_the_exec_line() {
        let dir = std::env::temp_dir().join(format!("lk-desktop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("h.desktop");
        std::fs::write(
            &f,
            "[Desktop Entry]\nExec=\"/a/b\" %u\nMimeType=x-scheme-handler/latchkey\n",
        )
        .unwrap();
        assert!(fix_exec(&f, "/a/b").unwrap());
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "[Desktop Entry]\nExec=/a/b %u\nMimeType=x-scheme-handler/latchkey\n"
        );
        assert!(!fix_exec(&f, "/a/b").unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
