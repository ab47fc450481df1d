/// The app's own commands. Declaring them puts them under Tauri's ACL: the window may call only
/// those its capability (capabilities/main.json) lists.
const COMMANDS: &[&str] = &[
    "overview",
    "discover",
    "save_profile",
    "remove_profile",
    "begin_sign_in",
    "legacy_grants",
    "sign_in_password",
    "begin_device_sign_in",
    "open_device_page",
    "presets",
    "fill_preset",
    "cancel_sign_in",
    "copy_secret",
    "copy_text",
    "refresh_account",
    "sign_out",
    "account_details",
    "use_in",
    "ui_ready",
    "account_history",
    "start_at_login",
    "set_start_at_login",
    "export_profiles_file",
    "import_profiles_file",
    "import_profiles_url",
    "import_profiles_apply",
    "import_profiles_cancel",
    "appearance",
    "remember_view",
    "remembered_view",
    "answer_access",
    "account_rules",
    "remove_access_rule",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
