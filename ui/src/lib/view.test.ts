import { describe, expect, it } from 'vitest';
import type { AccountDto, ProfileDto } from './bindings';
import {
  accountStatus,
  asSentence,
  claimRows,
  cleanParams,
  formatUserCode,
  errorAction,
  errorAdvice,
  errorTitle,
  expiryText,
  formatDuration,
  groupAccounts,
  parseScopes,
  redirectToRegister,
} from './view';

const account = (over: Partial<AccountDto> = {}): AccountDto => ({
  id: 'p/alice',
  profile: 'p',
  label: 'alice',
  subject: 'sub-1',
  scopes: ['openid'],
  expiresAt: 1000,
  hasRefreshToken: true,
  needsSignIn: null,
  signedInAt: 0,
  dpopBound: false,
  ...over,
});

const profile = (name: string): ProfileDto => ({
  name,
  clientId: 'c',
  issuer: null,
  authorizationEndpoint: 'https://x/auth',
  tokenEndpoint: 'https://x/token',
  revocationEndpoint: null,
  userinfoEndpoint: null,
  scopes: [],
  authMethod: 'none',
  hasClientSecret: false,
  clientSecretMissing: false,
  redirectMode: 'deep-link',
  redirectUri: null,
  redirectUriToRegister: 'latchkey://callback',
  grant: 'authorization-code',
  deviceAuthorizationEndpoint: null,
  extraAuthorizeParams: [],
  extraTokenParams: [],
  allowedLegacyGrants: [],
  proxy: null,
  caFile: null,
  dpop: false,
  par: false,
  resources: [],
});

describe('accountStatus', () => {
  it('follows expiry, refresh token and the sign-in flag', () => {
    expect(accountStatus(account(), 0)).toBe('ok');
    expect(accountStatus(account(), 800)).toBe('expiring');
    expect(accountStatus(account(), 1000)).toBe('expired');
    expect(accountStatus(account({ hasRefreshToken: false }), 1000)).toBe('needs-sign-in');
    expect(accountStatus(account({ needsSignIn: 'invalid_grant' }), 0)).toBe('needs-sign-in');
    expect(accountStatus(account({ expiresAt: null }), 1e12)).toBe('ok');
  });
});

describe('countdown', () => {
  it('formats durations compactly', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(59)).toBe('59 s');
    expect(formatDuration(61)).toBe('1 min 01 s');
    expect(formatDuration(3600)).toBe('1 h');
    expect(formatDuration(3 * 3600 + 5 * 60 + 9)).toBe('3 h 5 min');
    expect(formatDuration(90000)).toBe('1 d 1 h');
    expect(formatDuration(-5)).toBe('0 s');
  });
  it('says when and how an account expires', () => {
    expect(expiryText(account(), 400)).toBe('Expires in 10 min 00 s');
    expect(expiryText(account(), 1090)).toBe('Expired 1 min 30 s ago · renews on next copy');
    expect(expiryText(account({ hasRefreshToken: false }), 1090)).toBe('Expired 1 min 30 s ago');
    expect(expiryText(account({ expiresAt: null }), 0)).toMatch(/No expiry/);
  });
});

describe('groupAccounts', () => {
  it('groups by profile, sorted, and keeps orphans', () => {
    const groups = groupAccounts(
      [profile('zeta'), profile('Alpha')],
      [account({ profile: 'zeta', label: 'b' }), account({ profile: 'zeta', label: 'a' }), account({ profile: 'gone' })],
    );
    expect(groups.map((g) => g.name)).toEqual(['Alpha', 'zeta', 'gone']);
    expect(groups[1].accounts.map((a) => a.label)).toEqual(['a', 'b']);
    expect(groups[0].accounts).toEqual([]);
    expect(groups[2].profile).toBeNull();
  });
});

describe('profile form helpers', () => {
  it('splits scopes like the CLI', () => {
    expect(parseScopes(' openid  email,profile openid ')).toEqual(['openid', 'email', 'profile']);
    expect(parseScopes('')).toEqual([]);
  });
  it('shows the exact redirect URI to register', () => {
    expect(redirectToRegister('deep-link', '')).toBe('latchkey://callback');
    expect(redirectToRegister('loopback', ' ')).toBe('http://127.0.0.1/callback');
    expect(redirectToRegister('loopback', 'http://127.0.0.1:8765/cb')).toBe('http://127.0.0.1:8765/cb');
  });
});

describe('errors', () => {
  it('names the provider error and advises on denial', () => {
    const e = { kind: 'provider' as const, message: 'm', providerError: 'access_denied', providerDescription: 'End-User aborted interaction', action: null };
    expect(errorTitle(e)).toBe('The provider answered access_denied');
    expect(errorAdvice(e)).toMatch(/declined/);
    expect(errorTitle({ ...e, providerError: null, kind: 'network' })).toBe('Provider not reachable');
  });

  it('offers a sign-in button only for a sign-in action with a profile', () => {
    const base = { kind: 'needs-sign-in' as const, message: 'm', providerError: null, providerDescription: null };
    const signIn = { kind: 'sign-in' as const, label: 'Sign in again', profile: 'okta', account: null };
    expect(errorAction({ ...base, action: signIn })).toEqual({ label: 'Sign in again', signIn: 'okta', account: null });
    // The account that needs it: the sign-in heals that one.
    expect(errorAction({ ...base, action: { ...signIn, account: 'alt' } })).toEqual({ label: 'Sign in again', signIn: 'okta', account: 'alt' });
    expect(errorAction({ ...base, action: { ...signIn, profile: null, account: 'alt' } })).toEqual({ label: 'Sign in again', signIn: null, account: null });
    expect(errorAction({ ...base, action: { kind: 'advice', label: 'Unlock', profile: 'okta', account: null } })).toEqual({ label: 'Unlock', signIn: null, account: null });
    expect(errorAction({ ...base, action: null })).toBeNull();
  });
  it('leaves the generic advice out when the backend says what to do', () => {
    const e = { kind: 'keychain' as const, message: 'm', providerError: null, providerDescription: null, action: null };
    expect(errorAdvice(e)).toMatch(/keychain/);
    expect(errorAdvice({ ...e, action: { kind: 'advice', label: 'Unlock', profile: null, account: null } })).toBeNull();
  });
});

describe('claims', () => {
  it('orders identity claims first and renders times', () => {
    const rows = claimRows({ zz: 1, exp: 0, sub: 'alice', email: 'a@x', aud: ['c'] });
    expect(rows.map((r) => r.key)).toEqual(['sub', 'email', 'aud', 'exp', 'zz']);
    expect(rows.find((r) => r.key === 'exp')!.value).toBe('1970-01-01 00:00:00 UTC (0)');
    expect(rows.find((r) => r.key === 'aud')!.value).toBe('["c"]');
  });
});

describe('grants', () => {
  it('drops blank parameter rows and trims keys', () => {
    expect(cleanParams([{ key: ' audience ', value: 'https://api' }, { key: '', value: ' ' }, { key: '', value: 'x' }])).toEqual([
      { key: 'audience', value: 'https://api' },
      { key: '', value: 'x' },
    ]);
  });
  it('a client credentials token past expiry renews on the next copy', () => {
    const a = { expiresAt: 10, hasRefreshToken: false, needsSignIn: null } as unknown as AccountDto;
    expect(accountStatus(a, 20)).toBe('needs-sign-in');
    expect(accountStatus(a, 20, true)).toBe('expired');
    expect(expiryText(a, 20, true)).toMatch(/renews on next copy/);
  });
  it('groups a device user code for typing', () => {
    expect(formatUserCode('WDJBMJHT')).toBe('WDJB-MJHT');
    expect(formatUserCode('WDJB-MJHT')).toBe('WDJB-MJHT');
    expect(formatUserCode('ABC12')).toBe('ABC12');
  });

  it('turns the engine clauses into sentences', () => {
    expect(asSentence('the implicit grant is deprecated by RFC 9700')).toBe('The implicit grant is deprecated by RFC 9700.');
    expect(asSentence('Already one.')).toBe('Already one.');
    expect(asSentence('  ')).toBe('');
  });
});
