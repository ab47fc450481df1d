import { describe, expect, it } from 'vitest';
import type { ImportPreview } from './bindings';
import { freeName, importSummary, looksLikeUrl, renameProblem, suggestRenames } from './share';

const preview = (over: Partial<ImportPreview> = {}): ImportPreview => ({
  origin: '/home/me/team.toml',
  names: ['github', 'okta', 'new'],
  conflicts: ['github', 'okta'],
  ...over,
});

describe('suggestRenames', () => {
  it('offers a free name for each conflict, taken neither here nor in the file', () => {
    const existing = ['github', 'okta', 'github-2'];
    expect(suggestRenames(preview({ names: ['github', 'okta', 'okta-2'] }), existing)).toEqual([
      { from: 'github', to: 'github-3' },
      { from: 'okta', to: 'okta-3' },
    ]);
    expect(freeName('a', [])).toBe('a-2');
  });
});

describe('renameProblem', () => {
  const existing = ['github', 'okta', 'mine'];
  it('accepts fresh names', () => {
    expect(renameProblem([{ from: 'github', to: 'gh-team' }, { from: 'okta', to: 'okta-team' }], existing, preview())).toBeNull();
  });
  it('refuses empty, existing, repeated and slashed names', () => {
    expect(renameProblem([{ from: 'github', to: '  ' }], existing, preview())).toContain('Enter a new name for github');
    expect(renameProblem([{ from: 'github', to: 'mine' }], existing, preview())).toContain('exists already');
    expect(renameProblem([{ from: 'github', to: 'new' }], existing, preview())).toContain('Two profiles would be named new');
    expect(renameProblem([{ from: 'github', to: 'x' }, { from: 'okta', to: 'x' }], existing, preview())).toContain('Two profiles');
    expect(renameProblem([{ from: 'github', to: 'a/b' }], existing, preview())).toContain('“/”');
  });
});

describe('importSummary', () => {
  it('says what was written and which profiles need their secret', () => {
    const s = importSummary([
      { name: 'github', replaced: true, needsSecret: false, warnings: [] },
      { name: 'okta', replaced: false, needsSecret: true, warnings: [] },
    ]);
    expect(s.title).toBe('Imported okta; replaced github');
    expect(s.body).toBe('okta needs its client secret: edit the profile and enter it before signing in.');
    expect(importSummary([{ name: 'a', replaced: false, needsSecret: false, warnings: [] }]).body).toBeUndefined();
  });
});

describe('looksLikeUrl', () => {
  it('takes http(s) URLs only', () => {
    expect(looksLikeUrl(' https://git.example/raw/team.toml ')).toBe(true);
    expect(looksLikeUrl('http://127.0.0.1:8080/t.toml')).toBe(true);
    expect(looksLikeUrl('/home/me/team.toml')).toBe(false);
    expect(looksLikeUrl('ftp://x/y')).toBe(false);
  });
});
