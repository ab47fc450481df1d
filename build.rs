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
//!
//! On GNU/Linux the unwinder is linked statically (libgcc_eh) instead of loading libgcc_s.so.1:
//! that library's constructor probes the CPU with `cpuid`, which a virtual machine traps, and
//! loading it is another object to map and relocate; together about 0.15 ms of a `latchkey
//! token` answered by the agent (1.85 → 1.66 ms, `hyperfine -N`). Unwinding works as before
//! (panics in the keychain's threads and the agent's tasks still become errors). How: a
//! `libgcc_s.so` linker script that names the static libraries, found first on the search
//! path; used only if a probe program links with it. LATCHKEY_SHARED_UNWINDER=1 leaves it out.
//! (It was taken out once when gnome-keyring 42 died in benchmark runs of a build with it; the
//! daemon dies the same way, a GLib assertion, under a binary linked as before: see README.)
use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LATCHKEY_NO_RELR");
    println!("cargo:rerun-if-env-changed=LATCHKEY_SHARED_UNWINDER");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if !set("LATCHKEY_SHARED_UNWINDER")
        && env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
        && let Some(dir) = static_unwinder()
    {
        // The `latchkey` binary only: a link-search path would reach every crate that
        // depends on this one (the desktop app, whose WebKit loads libgcc_s anyway).
        println!("cargo:rustc-link-arg-bin=latchkey=-L{}", dir.display());
    }
    if set("LATCHKEY_NO_RELR") {
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

fn set(var: &str) -> bool {
    env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A directory whose `libgcc_s.so` links the unwinder statically, when a probe program links
/// with it and needs no libgcc_s.so.1.
fn static_unwinder() -> Option<PathBuf> {
    let dir = PathBuf::from(env::var_os("OUT_DIR")?).join("static-unwinder");
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(
        dir.join("libgcc_s.so"),
        "/* Latchkey's build.rs: the unwinder, linked statically */\nGROUP ( -lgcc_eh -lgcc )\n",
    )
    .ok()?;
    let bin = probe(
        &["-L", &format!("native={}", dir.display())],
        "unwind_probe",
    )?;
    let linked = std::fs::read(bin).ok()?;
    // The soname stays in the file only as a DT_NEEDED entry's string.
    (!linked.windows(12).any(|w| w == b"libgcc_s.so.")).then_some(dir)
}

const FLAG: &str = "link-arg=-Wl,-z,pack-relative-relocs";

/// Links `fn main() {}` with the flag; true when it links and has DT_RELR.
fn relr_links() -> bool {
    probe(&["-C", FLAG], "relr_probe").is_some_and(|bin| has_dt_relr(&bin))
}

/// Links `fn main() {}` as `name` with `args` by the same rustc, target and linker settings as
/// the real build; the program's path when that succeeds.
fn probe(args: &[&str], name: &str) -> Option<PathBuf> {
    let rustc = env::var_os("RUSTC")?;
    let dir = PathBuf::from(env::var_os("OUT_DIR")?);
    let target = env::var_os("TARGET")?;
    let src = dir.join(format!("{name}.rs"));
    let bin = dir.join(name);
    std::fs::write(&src, "fn main() {}\n").ok()?;
    let mut cmd = Command::new(rustc);
    cmd.arg("--target")
        .arg(target)
        .args(["--crate-type", "bin"])
        .args(args);
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
    linked.then_some(bin)
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
