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

  it('rejects with the backend ErrorDto unchanged', async () => {
    const err = { kind: 'provider', message: 'm', providerError: 'access_denied', providerDescription: null };
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
