//! Writes (with `UPDATE_BINDINGS=1`) or checks the generated TypeScript of every DTO.
//! Its own module: it names DTOs of several modules, and none of them should import the rest.

use crate::dto::*;
use crate::error_dto::{ErrorActionDto, ErrorActionKind};
use std::path::PathBuf;
use ts_rs::TS;

fn all() -> Vec<(&'static str, String)> {
    macro_rules! decl {
        ($($t:ty),* $(,)?) => { vec![$( (stringify!($t), <$t as TS>::decl()) ),*] };
    }
    decl![
        ProfileDto,
        GrantDto,
        LegacyGrantDto,
        LegacyGrantInfo,
        ParamDto,
        latchkey::api::views::PresetVariable,
        PresetDto,
        FilledPresetDto,
        DeviceSignInStarted,
        AuthMethodDto,
        RedirectModeDto,
        AccountDto,
        Overview,
        DiscoveryDto,
        EndpointsInput,
        ProfileInput,
        SignInStarted,
        SignInEvent,
        NoticeKindDto,
        NoticeDto,
        CopyWhat,
        CopyResult,
        AccountDetails,
        UseInDto,
        SignOutResult,
        ErrorKindDto,
        ErrorActionKind,
        ErrorActionDto,
        ErrorDto,
        latchkey::store::history::Entry,
        crate::share::ImportPreview,
        crate::share::RenameDto,
        crate::share::ImportedDto,
        crate::asking::AccessQuestionDto,
        crate::asking::AccessAnswerDto,
        crate::access_rules::DecisionDto,
        crate::access_rules::RuleScopeDto,
        crate::access_rules::AccessRuleDto,
    ]
}

fn render() -> String {
    let mut out = String::from(
        "// Generated from src-tauri/src/bindings.rs by `UPDATE_BINDINGS=1 cargo test -p latchkey-desktop bindings`.\n// Do not edit by hand.\n\n",
    );
    for (_, decl) in all() {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn typescript_bindings_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
    let want = render();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/lib/bindings.ts is out of date: run `UPDATE_BINDINGS=1 cargo test -p latchkey-desktop bindings`"
    );
}
