import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import ImportConflict from './ImportConflict.svelte';
import Share from './Share.svelte';

describe('ImportConflict', () => {
  it('offers replace, another name or cancel, naming the profiles and the file', () => {
    const preview = { origin: 'https://git.example/team.toml', names: ['okta', 'new'], conflicts: ['okta'] };
    const out = render(ImportConflict, { props: { preview, existing: ['okta'], onchoose: () => {} } }).body;
    expect(out).toContain('This profile exists already');
    expect(out).toMatch(/data-testid="conflict-names"[^>]*>okta</);
    expect(out).toContain('https://git.example/team.toml');
    for (const id of ['conflict-replace', 'conflict-rename', 'conflict-cancel']) expect(out).toContain(`data-testid="${id}"`);
    expect(out).not.toContain('rename-input');
  });

  it('speaks of several profiles in the plural', () => {
    const preview = { origin: 'f.toml', names: ['a', 'b'], conflicts: ['a', 'b'] };
    const out = render(ImportConflict, { props: { preview, existing: ['a', 'b'], onchoose: () => {} } }).body;
    expect(out).toContain('These profiles exist already');
    expect(out).toMatch(/a, b<\/span>\s*are in/);
  });
});

describe('Share', () => {
  it('lists the profiles to export, all ticked, and both ways to import', () => {
    const out = render(Share, { props: { profiles: ['github', 'okta'], onback: () => {}, ondone: () => {} } }).body;
    expect(out.match(/type="checkbox"[^>]*checked/g)?.length).toBe(2);
    for (const id of ['export-profiles', 'import-file', 'import-url', 'import-url-go']) expect(out).toContain(`data-testid="${id}"`);
    expect(out).toContain('never a client secret');
  });

  it('has nothing to export without profiles, and still imports', () => {
    const out = render(Share, { props: { profiles: [], onback: () => {}, ondone: () => {} } }).body;
    expect(out).not.toContain('data-testid="export-profiles"');
    expect(out).toContain('data-testid="import-file"');
  });
});
