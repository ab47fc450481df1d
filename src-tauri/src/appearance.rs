//! Light or dark: the desktop's preference, told to the window (which sets `data-theme`).
//!
//! The page cannot rely on its own `prefers-color-scheme` on Linux: WebKitGTK derives it from
//! the GTK settings, and with the render node the app names when the machine has none
//! (`/dev/null`, see `lighter_webkit`) it never reports dark. So the shell decides: the
//! freedesktop appearance portal's `color-scheme` (followed live), else the GTK theme. On
//! macOS and Windows the window's theme is the system's and Tauri reports its changes.

use serde::Serialize;
use tauri::{AppHandle, Emitter};

/// The event carrying a new [`Scheme`] to the window.
pub const APPEARANCE: &str = "appearance";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Light,
    Dark,
}

/// The scheme the desktop prefers now; `None` when it does not say (the page then follows its
/// own `prefers-color-scheme`).
#[tauri::command]
pub async fn appearance(window: tauri::Window) -> Option<Scheme> {
    #[cfg(target_os = "linux")]
    {
        let _ = window;
        tauri::async_runtime::spawn_blocking(linux::current)
            .await
            .ok()
            .flatten()
    }
    #[cfg(not(target_os = "linux"))]
    window.theme().ok().map(|t| match t {
        tauri::Theme::Dark => Scheme::Dark,
        _ => Scheme::Light,
    })
}

/// Tells the window when the preference changes: the portal's `SettingChanged` on Linux,
/// the window's `ThemeChanged` elsewhere.
pub fn follow(app: &AppHandle) {
    #[cfg(target_os = "linux")]
    {
        let app = app.clone();
        std::thread::spawn(move || {
            let _ = linux::watch_portal(|scheme| {
                let _ = app.emit(APPEARANCE, scheme);
            });
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

/// Elsewhere than Linux: the window's `ThemeChanged`, for each window built (window.rs).
#[cfg(not(target_os = "linux"))]
pub fn watch(window: &tauri::WebviewWindow) {
    let app = tauri::Manager::app_handle(window).clone();
    window.on_window_event(move |event| {
        if let tauri::WindowEvent::ThemeChanged(theme) = event {
            let scheme = match theme {
                tauri::Theme::Dark => Scheme::Dark,
                _ => Scheme::Light,
            };
            let _ = app.emit(APPEARANCE, Some(scheme));
        }
    });
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::PathBuf;

    use super::{Scheme, gtk};

    const NAMESPACE: &str = "org.freedesktop.appearance";
    const KEY: &str = "color-scheme";

    /// The portal's answer when it has one, else the GTK theme's.
    pub fn current() -> Option<Scheme> {
        portal_scheme().or_else(gtk_scheme)
    }

    fn gtk_scheme() -> Option<Scheme> {
        let env = std::env::var("GTK_THEME").ok();
        let files: Vec<String> = settings_files()
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect();
        gtk::scheme(env.as_deref(), files.iter().map(String::as_str))
    }

    /// GTK 3's settings.ini files, the user's first (it wins).
    fn settings_files() -> Vec<PathBuf> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| home.map(|h| h.join(".config")));
        let config_dirs =
            std::env::var("XDG_CONFIG_DIRS").unwrap_or_else(|_| "/etc/xdg".to_string());
        config_home
            .into_iter()
            .chain(config_dirs.split(':').map(PathBuf::from))
            .filter(|p| p.is_absolute())
            .chain([PathBuf::from("/etc")])
            .map(|dir| dir.join("gtk-3.0/settings.ini"))
            .collect()
    }

    fn proxy(conn: &zbus::blocking::Connection) -> zbus::Result<zbus::blocking::Proxy<'_>> {
        zbus::blocking::Proxy::new(
            conn,
            "org.freedesktop.portal.Desktop",
            "/org/freedesktop/portal/desktop",
            "org.freedesktop.portal.Settings",
        )
    }

    /// `ReadOne` (Settings version 2), else the older `Read`, whose value comes wrapped twice.
    fn portal_scheme() -> Option<Scheme> {
        let conn = zbus::blocking::Connection::session().ok()?;
        let proxy = proxy(&conn).ok()?;
        let value: zbus::zvariant::OwnedValue = proxy
            .call("ReadOne", &(NAMESPACE, KEY))
            .or_else(|_| proxy.call("Read", &(NAMESPACE, KEY)))
            .ok()?;
        super::portal::scheme(&value)
    }

    /// Blocks, calling `changed` with each new preference (`None`: the portal no longer says,
    /// so the GTK theme decides).
    pub fn watch_portal(changed: impl Fn(Option<Scheme>)) -> zbus::Result<()> {
        let conn = zbus::blocking::Connection::session()?;
        let proxy = proxy(&conn)?;
        for signal in proxy.receive_signal("SettingChanged")? {
            let Ok((namespace, key, value)) =
                signal
                    .body()
                    .deserialize::<(String, String, zbus::zvariant::OwnedValue)>()
            else {
                continue;
            };
            if namespace == NAMESPACE && key == KEY {
                changed(super::portal::scheme(&value).or_else(gtk_scheme));
            }
        }
        Ok(())
    }
}

/// The portal's `color-scheme`: 0 no preference, 1 prefer dark, 2 prefer light.
#[cfg(target_os = "linux")]
mod portal {
    use zbus::zvariant::Value;

    use super::Scheme;

    pub fn scheme(value: &Value<'_>) -> Option<Scheme> {
        match value {
            Value::Value(inner) => scheme(inner),
            Value::U32(1) => Some(Scheme::Dark),
            Value::U32(2) => Some(Scheme::Light),
            _ => None,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_the_color_scheme_however_wrapped() {
            assert_eq!(scheme(&Value::U32(1)), Some(Scheme::Dark));
            assert_eq!(scheme(&Value::U32(2)), Some(Scheme::Light));
            assert_eq!(scheme(&Value::U32(0)), None);
            let read = Value::Value(Box::new(Value::Value(Box::new(Value::U32(1)))));
            assert_eq!(scheme(&read), Some(Scheme::Dark));
            assert_eq!(scheme(&Value::from("prefer-dark")), None);
            assert_eq!(scheme(&Value::I32(1)), None);
        }
    }
}

/// The GTK theme: `GTK_THEME` (`Name:dark` or `Name-dark`) decides alone when set, as it does
/// for GTK; else settings.ini's `gtk-application-prefer-dark-theme` and a `gtk-theme-name`
/// ending in `-dark`, the first file that sets a key winning.
#[cfg(target_os = "linux")]
mod gtk {
    use super::Scheme;

    pub fn scheme<'a>(
        gtk_theme: Option<&str>,
        settings_files: impl IntoIterator<Item = &'a str>,
    ) -> Option<Scheme> {
        if let Some(theme) = gtk_theme.filter(|t| !t.is_empty()) {
            return Some(if dark_name(theme) || theme.ends_with(":dark") {
                Scheme::Dark
            } else {
                Scheme::Light
            });
        }
        let (mut prefer_dark, mut theme_name) = (None, None);
        for file in settings_files {
            for (key, value) in settings(file) {
                match key {
                    "gtk-application-prefer-dark-theme" if prefer_dark.is_none() => {
                        prefer_dark = Some(matches!(value, "1" | "true" | "TRUE" | "True"));
                    }
                    "gtk-theme-name" if theme_name.is_none() => theme_name = Some(value),
                    _ => {}
                }
            }
        }
        if prefer_dark == Some(true) || theme_name.is_some_and(dark_name) {
            Some(Scheme::Dark)
        } else if prefer_dark.is_some() || theme_name.is_some() {
            Some(Scheme::Light)
        } else {
            None
        }
    }

    fn dark_name(name: &str) -> bool {
        name.to_ascii_lowercase().ends_with("-dark")
    }

    /// `key = value` lines of the `[Settings]` group.
    fn settings(file: &str) -> impl Iterator<Item = (&str, &str)> {
        let mut in_settings = false;
        file.lines().filter_map(move |line| {
            let line = line.trim();
            if line.starts_with('[') {
                in_settings = line == "[Settings]";
                return None;
            }
            if !in_settings || line.starts_with(['#', ';']) {
                return None;
            }
            let (key, value) = line.split_once('=')?;
            Some((key.trim(), value.trim().trim_matches('"')))
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn gtk_theme_decides_alone() {
            let dark_ini = "[Settings]\ngtk-application-prefer-dark-theme=1\n";
            assert_eq!(scheme(Some("Adwaita:dark"), []), Some(Scheme::Dark));
            assert_eq!(scheme(Some("Arc-Dark"), []), Some(Scheme::Dark));
            assert_eq!(scheme(Some("Adwaita"), [dark_ini]), Some(Scheme::Light));
            assert_eq!(scheme(Some(""), [dark_ini]), Some(Scheme::Dark));
        }

        #[test]
        fn settings_ini_prefer_dark_or_a_dark_theme_name() {
            let prefer = "[Settings]\ngtk-application-prefer-dark-theme = true\n";
            let named = "# mine\n[Settings]\ngtk-theme-name=Adwaita-dark\n";
            let light = "[Settings]\ngtk-theme-name=Adwaita\n";
            let other_group = "[Other]\ngtk-theme-name=Adwaita-dark\n";
            assert_eq!(scheme(None, [prefer]), Some(Scheme::Dark));
            assert_eq!(scheme(None, [named]), Some(Scheme::Dark));
            assert_eq!(scheme(None, [light]), Some(Scheme::Light));
            assert_eq!(scheme(None, [other_group]), None);
            assert_eq!(scheme(None, []), None);
            // The user's file comes first and wins over the system's.
            assert_eq!(scheme(None, [light, named]), Some(Scheme::Light));
            assert_eq!(scheme(None, ["", named]), Some(Scheme::Dark));
            let off = "[Settings]\ngtk-application-prefer-dark-theme=0\n";
            assert_eq!(scheme(None, [off, prefer]), Some(Scheme::Light));
        }
    }
}
