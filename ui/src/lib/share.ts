// The share screen's decisions, kept out of the component so Vitest can check them.
import type { ImportedDto, ImportPreview, RenameDto } from './bindings';

/** What to do about names that exist: the user's choice in the conflict panel. */
export type ConflictChoice = 'replace' | 'rename' | 'cancel';

/** A free name for `name`: `name-2`, `name-3`… taking neither an existing name nor one of the file's. */
export function freeName(name: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 2; ; n++) {
    const candidate = `${name}-${n}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** A suggested new name for each conflicting profile, none of them taken or repeated. */
export function suggestRenames(preview: ImportPreview, existing: string[]): RenameDto[] {
  const taken = new Set([...existing, ...preview.names]);
  return preview.conflicts.map((from) => {
    const to = freeName(from, taken);
    taken.add(to);
    return { from, to };
  });
}

/**
 * Why these new names cannot be used, before asking the backend (which checks them again): one
 * left empty, one that exists here or in the file, or two alike. `null` when they can.
 */
export function renameProblem(renames: RenameDto[], existing: string[], preview: ImportPreview): string | null {
  const seen = new Set<string>();
  const renamed = new Set(renames.map((r) => r.from));
  const staying = preview.names.filter((n) => !renamed.has(n));
  for (const { from, to } of renames) {
    const name = to.trim();
    if (!name) return `Enter a new name for ${from}.`;
    if (name.includes('/')) return `${name}: a profile name cannot contain “/”.`;
    if (existing.includes(name)) return `A profile named ${name} exists already.`;
    if (staying.includes(name) || seen.has(name)) return `Two profiles would be named ${name}.`;
    seen.add(name);
  }
  return null;
}

/** The notice after an import: what was written, and which profiles still need their secret. */
export function importSummary(imported: ImportedDto[]): { title: string; body: string | undefined } {
  const added = imported.filter((i) => !i.replaced).map((i) => i.name);
  const replaced = imported.filter((i) => i.replaced).map((i) => i.name);
  const parts: string[] = [];
  if (added.length) parts.push(`imported ${added.join(', ')}`);
  if (replaced.length) parts.push(`replaced ${replaced.join(', ')}`);
  const title = parts.length ? parts.join('; ').replace(/^./, (c) => c.toUpperCase()) : 'Nothing imported';
  const needs = imported.filter((i) => i.needsSecret).map((i) => i.name);
  const body = needs.length
    ? `${needs.join(', ')} ${needs.length > 1 ? 'need their' : 'needs its'} client secret: edit the profile and enter it before signing in.`
    : undefined;
  return { title, body };
}

/** Whether the URL field holds something worth sending (the backend checks it for real). */
export function looksLikeUrl(text: string): boolean {
  return /^https?:\/\/\S+$/i.test(text.trim());
}
