import { describe, expect, it, vi } from 'vitest';

// The webview's IPC is replaced by a fake: these tests check the wrapper, not Tauri.
const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

const { ipc, asError } = await import('./ipc');

describe('ipc', () => {
  it('passes typed arguments under the names the Rust commands expect', async () => {
    invoke.mockResolvedValueOnce({ what: 'access-token', clearsInSecs: 30, concealed: true, account: {} });
    const r = await ipc.copySecret('p/alice', 'access-token');
    expect(invoke).toHaveBeenCalledWith('copy_secret', { account: 'p/alice', what: 'access-token' });
    expect(r.clearsInSecs).toBe(30);
  });

  it('names the sign-in arguments as the Rust commands do', async () => {
    invoke.mockResolvedValue({});
    await ipc.beginSignIn('p');
    expect(invoke).toHaveBeenLastCalledWith('begin_sign_in', { profile: 'p', implicit: false, account: null });
    await ipc.beginSignIn('p', true);
    expect(invoke).toHaveBeenLastCalledWith('begin_sign_in', { profile: 'p', implicit: true, account: null });
    await ipc.beginSignIn('p', false, 'alt');
    expect(invoke).toHaveBeenLastCalledWith('begin_sign_in', { profile: 'p', implicit: false, account: 'alt' });
    await ipc.signInPassword('p', 'eve', 'pw');
    expect(invoke).toHaveBeenLastCalledWith('sign_in_password', { profile: 'p', username: 'eve', password: 'pw' });
  });

  it('names the access rule arguments as the Rust commands do', async () => {
    invoke.mockResolvedValue([]);
    await ipc.accountRules('p/alice');
    expect(invoke).toHaveBeenLastCalledWith('account_rules', { account: 'p/alice' });
    const rule = { id: '3f9a0c1d', decision: 'deny', target: 'p/alice', scope: 'account', program: '/usr/bin/git', expiresAt: null, expired: false } as const;
    await ipc.removeAccessRule('p/alice', rule);
    expect(invoke).toHaveBeenLastCalledWith('remove_access_rule', { account: 'p/alice', id: '3f9a0c1d', decision: 'deny', program: '/usr/bin/git' });
  });

  it('rejects with the backend ErrorDto unchanged', async () => {
    const err = { kind: 'provider', message: 'm', providerError: 'access_denied', providerDescription: null, action: null };
    invoke.mockRejectedValueOnce(err);
    await expect(ipc.refreshAccount('p/a')).rejects.toEqual(err);
  });

  it('wraps anything else into an ErrorDto', async () => {
    invoke.mockRejectedValueOnce('command copy_secret not allowed by ACL');
    await expect(ipc.overview()).rejects.toMatchObject({ kind: 'other', message: 'command copy_secret not allowed by ACL' });
    expect(asError(new Error('boom')).message).toBe('boom');
    expect(asError(undefined).message).toBe('Something went wrong.');
  });
});
