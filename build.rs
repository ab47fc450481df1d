//! Links the `latchkey` binary with packed relative relocations (`-z pack-relative-relocs`,
//! DT_RELR) where the linker and the C library support them, so a build elsewhere never breaks.
//!
//! Why: the binary is position-independent (address-space randomisation stays), so the loader
//! applies every relative relocation at each start; `latchkey token` through the agent is a
//! process that lives about 2 ms, and reading 15,000+ RELA entries (24 bytes each, a 380 KB
//! table) is a good part of that. DT_RELR encodes the same relocations in a few KB.
//!
//! How: a tiny program is linked with the flag by the same rustc, target and linker settings;
//! the flag is used only if that link succeeds and the result has a DT_RELR entry (GNU ld
//! 2.38+, lld 15+ or mold, and glibc 2.36+, which the binary then needs at run time: it is
//! linked against the build machine's glibc anyway). Set LATCHKEY_NO_RELR=1 to leave it out.
use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LATCHKEY_NO_RELR");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if env::var_os("LATCHKEY_NO_RELR").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    // ELF targets only; the probe below checks the rest.
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if !matches!(os.as_str(), "linux" | "android" | "freebsd") {
        return;
    }
    if relr_links() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

const FLAG: &str = "link-arg=-Wl,-z,pack-relative-relocs";

/// Links `fn main() {}` with the flag; true when it links and has DT_RELR.
fn relr_links() -> bool {
    let (Some(rustc), Some(out), Some(target)) = (
        env::var_os("RUSTC"),
        env::var_os("OUT_DIR"),
        env::var_os("TARGET"),
    ) else {
        return false;
    };
    let dir = PathBuf::from(out);
    let src = dir.join("relr_probe.rs");
    let bin = dir.join("relr_probe");
    if std::fs::write(&src, "fn main() {}\n").is_err() {
        return false;
    }
    let mut cmd = Command::new(rustc);
    cmd.arg("--target")
        .arg(target)
        .args(["--crate-type", "bin", "-C", FLAG]);
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        cmd.arg("-C")
            .arg(format!("linker={}", linker.to_string_lossy()));
    }
    // The build's own flags (a linker, -fuse-ld=…) take part, as they will in the real link.
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        cmd.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    cmd.arg("-o").arg(&bin).arg(&src);
    let linked = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    linked && has_dt_relr(&bin)
}

/// Whether a 64-bit little-endian ELF file's dynamic section holds a DT_RELR entry.
fn has_dt_relr(path: &Path) -> bool {
    const PT_DYNAMIC: u32 = 2;
    const DT_RELR: u64 = 36;
    let Ok(elf) = std::fs::read(path) else {
        return false;
    };
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    // ELFCLASS64, little-endian.
    if elf.get(0..6) != Some(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    for i in 0..phnum {
        let ph = phoff as usize + i * phentsize;
        if u32_at(ph) != Some(PT_DYNAMIC) {
            continue;
        }
        let (Some(offset), Some(size)) = (u64_at(ph + 8), u64_at(ph + 32)) else {
            return false;
        };
        let start = offset as usize;
        return (start..start + size as usize)
            .step_by(16)
            .map_while(u64_at)
            .any(|tag| tag == DT_RELR);
    }
    false
}
