import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { AccessRuleDto } from '../lib/bindings';
import AccessRules from './AccessRules.svelte';

const now = 1_700_000_000;
const rule = (over: Partial<AccessRuleDto> = {}): AccessRuleDto => ({
  id: 'a1',
  decision: 'deny',
  target: 'work/alice',
  scope: 'account',
  program: '/usr/bin/node',
  expiresAt: null,
  expired: false,
  ...over,
});

const html = (rules: AccessRuleDto[] | null, removing: string | null = null) =>
  render(AccessRules, { props: { rules, now, removing, onremove: () => {} } }).body;

describe('AccessRules', () => {
  it('lists the rules in the order given, each with a Remove button', () => {
    const out = html([rule(), rule({ id: 'b2', decision: 'allow', scope: 'everyone', target: '*', program: null, expiresAt: now + 60 })]);
    expect(out.match(/data-testid="access-rule"/g)).toHaveLength(2);
    expect(out.match(/data-testid="remove-rule"/g)).toHaveLength(2);
    expect(out.indexOf('data-rule="a1"')).toBeLessThan(out.indexOf('data-rule="b2"'));
    expect(out).toContain('title="/usr/bin/node"');
    expect(out).toContain('any program');
    expect(out).toContain('every account');
    expect(out).toContain('in 1 min 00 s');
  });

  it('marks an expired rule, and disables the buttons while one is removed', () => {
    const out = html([rule({ expiresAt: now - 5, expired: true }), rule({ id: 'b2' })], 'a1');
    expect(out).toMatch(/class="[^"]*expired/);
    expect(out).toContain('Removing…');
    expect(out.match(/disabled/g)).toHaveLength(2);
  });

  it('says that no rule applies and what that means, and when it is still reading', () => {
    const empty = html([]);
    expect(empty).toContain('data-testid="access-rules-empty"');
    expect(empty).toContain('the default: allowed');
    expect(empty).toContain('latchkey access');
    expect(html(null)).toContain('Reading the access rules');
  });
});
