//! Latchkey's desktop shell: a window over the `latchkey` engine. It holds only shell concerns
//! (window, deep links, clipboard, browser); every credential operation is the engine's.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod access_rules;
mod accounts_changed;
#[cfg(unix)]
mod agent;
mod appearance;
mod asking;
mod autostart;
mod background;
#[cfg(test)]
mod bindings;
mod clipboard;
mod commands;
mod copying;
mod dto;
mod error_dto;
mod events;
mod form;
mod history;
#[cfg(target_os = "linux")]
mod linux_handler;
mod notices;
mod notify;
mod sensitive;
mod share;
mod signin;
mod state;
mod tray;
mod tray_menu;
#[cfg(target_os = "linux")]
mod webkit_exit;
mod window;

use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

use crate::events::EventQueue;
use crate::signin::SignIns;
use crate::state::AppState;

/// The main window closing and gone. Not prevented: the window goes; with a tray, the app stays
/// (the run loop below). Once it is gone, what is said to the page waits for the next one, and
/// WebKit's processes go. Here, above the window module, which knows nothing of the tray.
fn main_window_event(app: &tauri::AppHandle, event: &tauri::WindowEvent) {
    match event {
        tauri::WindowEvent::CloseRequested { .. } if app.try_state::<tray::Tray>().is_some() => {
            background::closed_to_tray(app);
        }
        tauri::WindowEvent::Destroyed => {
            app.state::<EventQueue>().hold();
            #[cfg(target_os = "linux")]
            webkit_exit::after_last_webview(app);
        }
        _ => {}
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    lighter_webkit();
    let builder = tauri::Builder::default();
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(autostart::plugin());
    let app = builder
        // First: a second launch (the OS opening `latchkey://…`) forwards its URL here and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            window::focus_main(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        // Not the window's visibility: a window hidden in the tray at quit must show next time.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        // Export and import dialogs, opened by the backend only (no permission for the window).
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::new())
        .manage(SignIns::default())
        .manage(EventQueue::default())
        .manage(notify::Announced::default())
        .manage(share::PendingImport::default())
        .manage(share::SecretStates::default())
        .manage(window::LastView::default())
        .on_window_event(|window, event| {
            if window.label() == window::MAIN {
                main_window_event(window.app_handle(), event);
            }
        })
        .setup(|app| {
            let handle = app.handle().clone();
            // Before any link is handled: one that finishes a sign-in goes to this window.
            // Started at login for the tray: no window until it is asked for.
            if !background::starts_hidden() {
                window::build_main(app.handle(), true)?;
            }
            app.state::<AppState>().notices.connect(handle.clone());
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    signin::handle_url(&handle, &url);
                }
            });
            // Started by a link (cold start): there can be no sign-in of ours to finish.
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                for url in urls {
                    signin::handle_url(app.handle(), &url);
                }
            }
            register_scheme(app.handle().clone());
            in_the_tray(app.handle());
            appearance::follow(app.handle());
            // The agent puts the access rules' questions to the user here.
            let asker = std::sync::Arc::new(asking::AppAsker::new(app.handle().clone()));
            app.manage(asker.clone());
            #[cfg(unix)]
            if let Ok(engine) = app.state::<AppState>().engine()
                && let Some(agent) = agent::AppAgent::start(engine, asker)
            {
                app.manage(agent);
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::overview,
            commands::discover,
            commands::save_profile,
            commands::remove_profile,
            commands::begin_sign_in,
            commands::legacy_grants,
            commands::sign_in_password,
            commands::begin_device_sign_in,
            commands::open_device_page,
            commands::presets,
            commands::fill_preset,
            commands::cancel_sign_in,
            commands::copy_secret,
            commands::copy_text,
            commands::refresh_account,
            commands::sign_out,
            commands::account_details,
            commands::use_in,
            commands::ui_ready,
            history::account_history,
            autostart::start_at_login,
            autostart::set_start_at_login,
            share::export_profiles_file,
            share::import_profiles_file,
            share::import_profiles_url,
            share::import_profiles_apply,
            share::import_profiles_cancel,
            appearance::appearance,
            window::remember_view,
            window::remembered_view,
            asking::answer_access,
            access_rules::account_rules,
            access_rules::remove_access_rule,
        ])
        .build(tauri::generate_context!())
        .expect("Latchkey could not start its window");

    app.run(|app, event| match event {
        // The last window closed (not a quit: that has a code): with the tray, the app stays.
        tauri::RunEvent::ExitRequested {
            code: None, api, ..
        } if app.try_state::<tray::Tray>().is_some() => api.prevent_exit(),
        tauri::RunEvent::Exit => {
            // Leave no token behind on the clipboard.
            app.state::<AppState>().clipboard.clear_if_ours(None);
            #[cfg(unix)]
            if let Some(agent) = app.try_state::<agent::AppAgent>() {
                agent.stop();
            }
        }
        _ => {}
    });
}

/// The tray icon. Without one, a start at login for the tray shows the window, and closing it
/// quits.
fn in_the_tray(app: &tauri::AppHandle) {
    if let Err(e) = tray::setup(app) {
        eprintln!("latchkey: no tray icon: {e}");
        if background::starts_hidden() {
            window::focus_main(app);
        }
    }
}

/// A few cards and buttons need no GPU. WebKitGTK's accelerated compositing costs ~100 MB and
/// ~0.5 s at start under software rendering (llvmpipe: VMs, remote desktops, Xvfb) and is behind
/// the blank-window bugs seen with some GPU drivers. Without it, nothing in this process needs
/// OpenGL, yet GTK (GLX visuals) and WebKit (EGL, to find a render node) would each load Mesa,
/// and with it LLVM: ~50 MB. The user's own settings win; asking for compositing keeps the GPU
/// path whole.
#[cfg(target_os = "linux")]
fn lighter_webkit() {
    let wants_gpu = |var| std::env::var_os(var).is_some_and(|v| v != "0");
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some_and(|v| v == "0")
        || wants_gpu("WEBKIT_FORCE_COMPOSITING_MODE")
        || wants_gpu("WEBKIT_FORCE_DMABUF_RENDERER")
    {
        return;
    }
    // Only a WebGL/DMA-BUF path would use the node; naming one (or none) skips the EGL probe.
    let render_node = std::fs::read_dir("/dev/dri")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().starts_with("/dev/dri/renderD"))
        .min()
        .map_or_else(|| "/dev/null".into(), |p| p.into_os_string());
    let knobs = [
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".into()),
        ("WEBKIT_DISABLE_DMABUF_RENDERER", "1".into()),
        ("GDK_GL", "disable".into()),
        ("WEBKIT_WEB_RENDER_DEVICE_FILE", render_node),
    ];
    for (var, value) in knobs {
        if std::env::var_os(var).is_none() {
            // SAFETY: first thing in `main`, before any other thread exists.
            unsafe { std::env::set_var(var, value) };
        }
    }
}

/// Makes this binary the `latchkey://` handler (dev builds and AppImages have no installed
/// .desktop entry doing it). In the background: it runs two small programs.
fn register_scheme(app: tauri::AppHandle) {
    #[cfg(any(target_os = "linux", windows))]
    std::thread::spawn(move || {
        if std::env::var_os("LATCHKEY_NO_SCHEME_REGISTRATION").is_some() {
            return;
        }
        if let Err(e) = app.deep_link().register_all() {
            eprintln!("latchkey: could not register the latchkey:// handler: {e}");
            return;
        }
        #[cfg(target_os = "linux")]
        fix_handler_entry(&app);
    });
    #[cfg(not(any(target_os = "linux", windows)))]
    let _ = app;
}

#[cfg(target_os = "linux")]
fn fix_handler_entry(app: &tauri::AppHandle) {
    let Ok(exe) = tauri::utils::platform::current_exe() else {
        return;
    };
    let Some(name) = exe.file_name().map(|n| n.to_string_lossy().to_string()) else {
        return;
    };
    let exec = app
        .env()
        .appimage
        .clone()
        .unwrap_or_else(|| exe.clone().into_os_string())
        .to_string_lossy()
        .to_string();
    let Ok(data) = app.path().data_dir() else {
        return;
    };
    let file = data
        .join("applications")
        .join(format!("{name}-handler.desktop"));
    if let Err(e) = linux_handler::fix_exec(&file, &exec) {
        eprintln!("latchkey: could not adjust {}: {e}", file.display());
    }
}
