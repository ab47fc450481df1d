#!/usr/bin/env python3
"""Checks the layout rules of docs/architecture.md: no source file in src/ or src-tauri/src/
over 700 lines; no import cycle between the files of a crate (an edge is any `crate::`,
`super::` or child-module path a file names; a cycle within one folder through its own
mod.rs is the one-struct-one-file-per-flow pattern and allowed, a cycle between siblings
never); no import that goes up a layer in src/ (the folders are the layers, see LAYERS; a
name the crate root re-exports counts as its module's). Test-only modules, inline or in
files of their own, are not read. Exits 1 with the offenders."""
import re
import sys
from pathlib import Path

MAX_LINES = 700

# src/'s top-level modules by layer, lowest first: a file may import its own layer and those
# below it, never one above. `error` is the crate-wide error vocabulary, a part like the others.
# The CLI (src/cli, in the binary) names the library as `latchkey::`, read here as `crate::`.
LAYERS = {
    "error": 1, "model": 1, "protocol": 1, "store": 1,
    "engine": 2,
    "door": 3,
    "api": 4,
    "agent": 5,
    "cli": 6,
}
ROOT = Path(__file__).resolve().parent.parent


def modules(src: Path) -> dict[str, Path]:
    out = {}
    for f in src.rglob("*.rs"):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("lib", "main")):
            parts = parts[:-1]
        out["::".join(parts)] = f
    return out


def strip_comments_and_strings(text: str) -> str:
    """`text` with comments removed and every string, byte string, raw string and char literal
    emptied (`""`, `' '`), newlines kept. A small lexer rather than regular expressions: a `//`
    inside a string, a `'"'` or a `'{'` must not hide code from the checks."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else "")
                    i += 1
        elif (m := re.match(r'b?r(#*)"', text[i:])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), i + m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and (m := re.match(r"b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'", text[i:])):
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def paths_in(text: str) -> list[str]:
    """Every path a file names, with `use` groups flattened (`use a::{b, c::d}` gives a::b, a::c::d)."""
    found = []

    def expand(prefix: str, group: str):
        depth, item, items = 0, "", []
        for ch in group:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                items.append(item)
                item = ""
            else:
                item += ch
        items.append(item)
        for it in (i.strip() for i in items):
            if not it:
                continue
            m = re.match(r"^([\w:]*?)::\{(.*)\}$", it, re.S)
            if m:
                expand(prefix + m.group(1) + "::", m.group(2))
            else:
                found.append(prefix + it.split(" as ")[0].strip())

    for m in re.finditer(r"\buse\s+([^;]+);", text):
        expand("", m.group(1))
    found += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", text)
    return found


def resolve(path: str, here: list[str], mods: dict[str, Path], reexports: dict[str, str]) -> str | None:
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    elif parts[0] == "super":
        base, rest = here[:-1], parts[1:]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif parts[0] == "self":
        base, rest = here, parts[1:]
    else:
        base, rest = here, parts  # a child module named directly
        if "::".join(here + parts[:1]) not in mods:
            return None
    best = None
    for i in range(len(rest) + 1):
        name = "::".join(base + rest[:i])
        if name in mods:
            best = name
    if best == "" and not base and rest and rest[0] in reexports:
        return reexports[rest[0]]
    return best


# `#[cfg(test)]`, `#[cfg(all(test, unix))]`…, never `#[cfg(not(test))]`, among a module's
# attributes (in any order).
TEST_MODULE = re.compile(
    r"((?:#\[[^\]]*\]\s*)+)(?:pub(?:\(crate\))?\s+)?mod\s+(\w+)\s*([;{])"
)


def is_test_only(attrs: str) -> bool:
    return any(
        re.search(r"\btest\b", cfg) and not re.search(r"\bnot\s*\(\s*test\s*\)", cfg)
        for cfg in re.findall(r"#\[cfg\(([^\]]*)\)\]", attrs)
    )


def without_test_modules(body: str) -> str:
    """`body` (comments and strings stripped) without its test-only inline modules: unit tests
    may reach anywhere in their crate. Only the block is cut, never what follows it."""
    out, pos = [], 0
    for m in TEST_MODULE.finditer(body):
        if m.start() < pos or m.group(3) != "{" or not is_test_only(m.group(1)):
            continue
        out.append(body[pos:m.start()])
        depth, i = 1, m.end()
        while i < len(body) and depth:
            depth += {"{": 1, "}": -1}.get(body[i], 0)
            i += 1
        pos = i
    out.append(body[pos:])
    return "".join(out)


def test_files(src: Path) -> set[Path]:
    """The files of test-only modules declared `mod NAME;` (with or without `#[path]`): not
    read for imports, as their inline kin."""
    out = set()
    for f in src.rglob("*.rs"):
        text = f.read_text()
        for m in TEST_MODULE.finditer(text):
            if m.group(3) != ";" or not is_test_only(m.group(1)):
                continue
            path = re.search(r'#\[path\s*=\s*"([^"]+)"\]', m.group(1))
            is_dir_owner = f.name in ("mod.rs", "lib.rs", "main.rs")
            base = f.parent if is_dir_owner else f.parent / f.stem
            if path:
                out.add((f.parent / path.group(1)).resolve())
            else:
                for candidate in (base / f"{m.group(2)}.rs", base / m.group(2) / "mod.rs"):
                    out.add(candidate.resolve())
    return out


def root_reexports(src: Path, mods: dict[str, Path]) -> dict[str, str]:
    """The names the crate root re-exports (`pub use engine::Latchkey;`), each with the module
    it comes from, so that `crate::Latchkey` counts as an import of `engine`."""
    root = src / "lib.rs"
    if not root.exists():
        return {}
    out = {}
    text = strip_comments_and_strings(root.read_text())
    for m in re.finditer(r"\bpub\s+use\s+([^;]+);", text):
        for p in paths_in("use " + m.group(1) + ";"):
            target = resolve(p, [], mods, {})
            if target:
                out[p.split("::")[-1]] = target
    return out


def layer(module: str) -> int | None:
    return LAYERS.get(module.split("::")[0]) if module else None


def sccs_of(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with two or more files: the cycles."""
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return sccs


def one_folder(comp: list[str]) -> bool:
    """Whether a cycle lies within one folder whose mod.rs is in it: a folder's files using the
    struct its mod.rs declares, which names them in turn (one struct, one file per flow)."""
    return any(
        owner and all(m == owner or m.startswith(owner + "::") for m in comp) for owner in comp
    )


def check_crate(src: Path, errors: list[str], layered: bool = False):
    mods = modules(src)
    reexports = root_reexports(src, mods)
    tests = test_files(src)
    for f in sorted(src.rglob("*.rs")):
        lines = f.read_text().count("\n")
        if lines > MAX_LINES:
            errors.append(f"{f.relative_to(ROOT)}: {lines} lines (at most {MAX_LINES})")
    # Every import (a name the root re-exports counting as its module's), and the same without
    # a folder's mod.rs naming its own files.
    edges: dict[str, set[str]] = {m: set() for m in mods}
    siblings: dict[str, set[str]] = {m: set() for m in mods}
    for name, f in mods.items():
        if f.resolve() in tests:
            continue
        here = name.split("::") if name else []
        body = without_test_modules(strip_comments_and_strings(f.read_text()))
        if layered:
            body = re.sub(r"\blatchkey::", "crate::", body)
        above = set()
        for p in paths_in(body):
            target = resolve(p, here, mods, reexports)
            if target is None or target == name or target == "":
                continue
            edges[name].add(target)
            if not (name and target.startswith(name + "::")):
                siblings[name].add(target)
            mine, theirs = layer(name), layer(target)
            if layered and mine is not None and theirs is not None and theirs > mine:
                above.add(target)
        for target in sorted(above):
            errors.append(
                f"{f.relative_to(ROOT)}: imports {target.replace('::', '/')}, "
                f"a layer above its own (docs/architecture.md)"
            )
    cycles = [c for c in sccs_of(edges) if not one_folder(c)] + sccs_of(siblings)
    reported = set()
    for comp in cycles:
        files = sorted(str(mods[m].relative_to(ROOT)) for m in comp)
        if tuple(files) not in reported:
            reported.add(tuple(files))
            errors.append("import cycle: " + " <-> ".join(files))


# One door: only src/door/ packages a token to leave Latchkey (`Handed::new`) or writes history
# (`history::append`); every front end goes through `Door::hand_out`.
DOOR_ONLY = [r"\bHanded::new\(", r"\bhistory::append\("]


def check_one_door(errors: list[str]):
    for src in (ROOT / "src", ROOT / "src-tauri" / "src"):
        for f in src.rglob("*.rs"):
            rel = f.relative_to(ROOT)
            if rel.parts[:2] == ("src", "door") or rel == Path("src/store/history.rs"):
                continue
            body = strip_comments_and_strings(f.read_text())
            for pattern in DOOR_ONLY:
                if re.search(pattern, body):
                    errors.append(f"{rel}: hands out a token or writes history outside src/door/")


def main() -> int:
    errors: list[str] = []
    check_one_door(errors)
    check_crate(ROOT / "src", errors, layered=True)
    check_crate(ROOT / "src-tauri" / "src", errors)
    for e in errors:
        print(f"check-layout: {e}", file=sys.stderr)
    if not errors:
        print("check-layout: ok (no file over 700 lines, no import cycle, no import up a layer, one door)",
              file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
