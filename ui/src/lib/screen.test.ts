import { describe, expect, it } from 'vitest';
import type { SignInStarted } from './bindings';
import { restoreView, saveView, type SavedView } from './screen';

const signIn: SignInStarted = {
  id: 7,
  profile: 'p',
  account: null,
  implicit: false,
  redirectMode: 'loopback',
  redirectUri: 'http://127.0.0.1:4000/callback',
  authorizationUrl: 'https://op.example/authorize',
  browserOpened: true,
  expiresAt: 2000,
} as SignInStarted;

describe('the view kept for the next window', () => {
  it('comes back as it was saved', () => {
    const v: SavedView = { screen: { name: 'details', account: 'p/alice' }, signIn: null, device: null, deviceOpened: false, lastStartedId: 3 };
    expect(restoreView(saveView(v))).toEqual(v);
    const s: SavedView = { screen: { name: 'sign-in' }, signIn, device: null, deviceOpened: false, lastStartedId: 7 };
    expect(restoreView(saveView(s))).toEqual(s);
  });

  it('starts on the accounts without one, or with one that does not hold together', () => {
    for (const json of [null, '', 'not json', '{}', '{"screen":{"name":"nowhere"}}', 'null']) {
      expect(restoreView(json).screen).toEqual({ name: 'accounts' });
    }
    expect(restoreView(JSON.stringify({ screen: { name: 'sign-in' }, signIn: null })).screen).toEqual({ name: 'accounts' });
    expect(restoreView(JSON.stringify({ screen: { name: 'details' } })).screen).toEqual({ name: 'accounts' });
  });

  it('keeps the last sign-in id, so that late outcomes are still reported', () => {
    expect(restoreView(JSON.stringify({ screen: { name: 'accounts' }, lastStartedId: 9 })).lastStartedId).toBe(9);
  });
});
