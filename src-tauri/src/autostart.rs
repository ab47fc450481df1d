//! "Start at login": the app starts with the session, in the tray ([`HIDDEN_ARG`]). The
//! setting shown is always read back from where it lives, never from a flag of the app's own.
//!
//! macOS and Windows: tauri-plugin-autostart (a launch agent, the Run registry key). Linux:
//! the XDG autostart entry, written here because the plugin's (auto-launch 0.5) ignores
//! `XDG_CONFIG_HOME`, leaves a program path with spaces unquoted in `Exec=`, fails when
//! `~/.config` does not exist yet, and panics without `HOME`.

use tauri::AppHandle;

use crate::dto::{ErrorDto, ErrorKindDto};

/// Given to the app by start at login: start in the tray, without the window.
pub const HIDDEN_ARG: &str = "--hidden";

fn failed(what: &str, e: impl std::fmt::Display) -> ErrorDto {
    ErrorDto::new(
        ErrorKindDto::Other,
        format!("Could not {what} start at login: {e}"),
    )
}

#[tauri::command]
pub fn start_at_login(app: AppHandle) -> Result<bool, ErrorDto> {
    imp::is_enabled(&app).map_err(|e| failed("read", e))
}

/// Turns start at login on or off; answers with the state read back.
#[tauri::command]
pub fn set_start_at_login(app: AppHandle, enabled: bool) -> Result<bool, ErrorDto> {
    let what = if enabled { "turn on" } else { "turn off" };
    imp::set(&app, enabled).map_err(|e| failed(what, e))?;
    imp::is_enabled(&app).map_err(|e| failed("read", e))
}

#[cfg(not(target_os = "linux"))]
pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_autostart::init(
        tauri_plugin_autostart::MacosLauncher::LaunchAgent,
        Some(vec![HIDDEN_ARG]),
    )
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use tauri::AppHandle;
    use tauri_plugin_autostart::ManagerExt;

    pub fn is_enabled(app: &AppHandle) -> Result<bool, String> {
        app.autolaunch().is_enabled().map_err(|e| e.to_string())
    }

    pub fn set(app: &AppHandle, enabled: bool) -> Result<(), String> {
        let manager = app.autolaunch();
        let done = if enabled {
            manager.enable()
        } else {
            manager.disable()
        };
        done.map_err(|e| e.to_string())
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::PathBuf;

    use tauri::{AppHandle, Manager};

    use super::HIDDEN_ARG;
    use crate::linux_handler::exec_program;

    /// `$XDG_CONFIG_HOME/autostart/latchkey.desktop` (`~/.config/…` without it).
    pub fn entry() -> Result<PathBuf, String> {
        let config = latchkey::store::paths::config_home().map_err(|e| e.to_string())?;
        Ok(config.join("autostart").join("latchkey.desktop"))
    }

    pub fn is_enabled(_app: &AppHandle) -> Result<bool, String> {
        let text = match std::fs::read_to_string(entry()?) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.to_string()),
        };
        Ok(enabled_in(&text))
    }

    /// Whether an autostart entry runs: not `Hidden=true`, not disabled for GNOME (the user
    /// may have switched it off in the desktop's own settings).
    pub fn enabled_in(text: &str) -> bool {
        !text.lines().map(str::trim).any(|l| {
            l.eq_ignore_ascii_case("Hidden=true")
                || l.eq_ignore_ascii_case("X-GNOME-Autostart-enabled=false")
        })
    }

    pub fn set(app: &AppHandle, enabled: bool) -> Result<(), String> {
        let file = entry()?;
        if !enabled {
            return match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.to_string()),
                _ => Ok(()),
            };
        }
        let program = app
            .env()
            .appimage
            .map(PathBuf::from)
            .map_or_else(tauri::utils::platform::current_exe, Ok)
            .map_err(|e| e.to_string())?;
        let text = desktop_entry(&program.to_string_lossy());
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        latchkey::store::private_files::write_atomic(&file, text.as_bytes())
            .map_err(|e| e.to_string())
    }

    pub fn desktop_entry(program: &str) -> String {
        format!(
            "[Desktop Entry]\nType=Application\nName=Latchkey\n\
             Comment=Keeps tokens fresh and answers the latchkey CLI, from the tray\n\
             Exec={} {HIDDEN_ARG}\nIcon=latchkey-desktop\nTerminal=false\n\
             X-GNOME-Autostart-enabled=true\n",
            exec_program(program)
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_entry_starts_the_app_in_the_tray_with_its_path_quoted() {
            let text = desktop_entry("/opt/My Apps/latchkey-desktop");
            assert!(
                text.contains("\nExec=\"/opt/My Apps/latchkey-desktop\" --hidden\n"),
                "{text}"
            );
            assert!(enabled_in(&text));
            assert!(!enabled_in(&format!("{text}Hidden=true\n")));
            let off = text.replace("Autostart-enabled=true", "Autostart-enabled=false");
            assert!(!enabled_in(&off));
        }
    }
}
