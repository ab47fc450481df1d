import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { NoticeDto, SignInStarted } from '../lib/bindings';
import { isRefusalOf } from '../lib/view';
import SignIn from './SignIn.svelte';

const started = (over: Partial<SignInStarted> = {}): SignInStarted => ({
  id: 1,
  profile: 'gl',
  account: null,
  implicit: false,
  redirectMode: 'loopback',
  redirectUri: 'http://127.0.0.1:4711/callback',
  authorizationUrl: 'https://op.example/authorize?state=s',
  browserOpened: true,
  expiresAt: 1300,
  ...over,
});

const refusal: NoticeDto = {
  kind: 'callback-refused',
  profile: 'gl',
  message: "refused a response to the sign-in for profile `gl`: its `state` is not this sign-in's; nothing was stored. The sign-in is still waiting (290 s left) for the response Latchkey asked for",
};

// Rendered as the server renderer does (the tests run without a DOM): the markup the window gets.
function html(refused: string | null): string {
  const props = { started: started(), error: null, now: 1000, warning: null, refused, oncancel: () => {}, onretry: () => {}, oncopy: () => {} };
  return render(SignIn, { props }).body;
}

describe('SignIn', () => {
  it('shows why a response was refused while it goes on waiting', () => {
    const out = html(refusal.message);
    expect(out).toContain('data-testid="sign-in-refused"');
    expect(out).toContain('Refused a response to the sign-in for profile `gl`: its `state` is not this sign-in');
    expect(out).toContain('The sign-in is still waiting (290 s left)');
    expect(out).toContain('data-testid="sign-in-timeout"');
  });

  it('shows no refusal before one arrived', () => {
    expect(html(null)).not.toContain('sign-in-refused');
  });
});

describe('isRefusalOf', () => {
  it('routes a refusal to the loopback sign-in of its profile only', () => {
    expect(isRefusalOf(refusal, started())).toBe(true);
    expect(isRefusalOf(refusal, null)).toBe(false);
    expect(isRefusalOf(refusal, started({ profile: 'other' }))).toBe(false);
    expect(isRefusalOf(refusal, started({ redirectMode: 'deep-link' }))).toBe(false);
    expect(isRefusalOf({ ...refusal, kind: 'keychain-refuses-issued-tokens', profile: null }, started())).toBe(false);
  });
});
