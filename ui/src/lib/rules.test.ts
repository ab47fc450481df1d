import { describe, expect, it } from 'vitest';
import type { AccessRuleDto } from './bindings';
import { DECISION_LABEL, isExpired, ruleExpiry, ruleProgram, ruleScope } from './rules';

const rule = (over: Partial<AccessRuleDto> = {}): AccessRuleDto => ({
  id: '3f9a0c1d',
  decision: 'deny',
  target: 'work/alice',
  scope: 'account',
  program: '/usr/bin/python3.11',
  expiresAt: null,
  expired: false,
  ...over,
});

describe('access rules', () => {
  it('words the decision and whom the rule covers', () => {
    expect(DECISION_LABEL[rule().decision]).toBe('Deny');
    expect(DECISION_LABEL.ask).toBe('Ask');
    expect(ruleScope(rule())).toBe('this account');
    expect(ruleScope(rule({ scope: 'profile', target: 'work' }))).toBe('every account of work');
    expect(ruleScope(rule({ scope: 'everyone', target: '*' }))).toBe('every account');
  });

  it('names the program by its file, or any program', () => {
    expect(ruleProgram(rule())).toEqual({ name: 'python3.11', path: '/usr/bin/python3.11' });
    expect(ruleProgram(rule({ program: 'gh' }))).toEqual({ name: 'gh', path: 'gh' });
    expect(ruleProgram(rule({ program: 'serve:ci' }))).toEqual({ name: 'serve:ci', path: 'serve:ci' });
    expect(ruleProgram(rule({ program: null }))).toEqual({ name: 'any program', path: null });
  });

  it('says when the rule expires, and that it has once the clock passes it', () => {
    const now = 1_700_000_000;
    expect(ruleExpiry(rule(), now)).toBe('never');
    expect(ruleExpiry(rule({ expiresAt: now + 3590 }), now)).toBe('in 59 min 50 s');
    expect(ruleExpiry(rule({ expiresAt: now - 122, expired: true }), now)).toBe('expired 2 min 02 s ago');
    // Listed before it expired, still on screen after.
    expect(isExpired(rule({ expiresAt: now }), now)).toBe(true);
    expect(isExpired(rule({ expiresAt: now + 1 }), now)).toBe(false);
    expect(isExpired(rule(), now)).toBe(false);
  });
});
