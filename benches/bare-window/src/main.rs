//! A bare Tauri 2 window (an empty page, no plugins, Tauri's defaults): what
//! `scripts/bench-desktop` measures Latchkey's memory and cold start against.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the bare window could not start");
}
