import { describe, expect, it } from 'vitest';
import { Loaded } from './loaded.svelte';

describe('Loaded', () => {
  it('keeps the value of a failed reload and clears the error once one succeeds', async () => {
    let fail = false;
    const l = new Loaded(async (n: number) => {
      if (fail) throw { kind: 'keychain', message: 'locked', providerError: null, providerDescription: null, action: null };
      return n * 2;
    });
    await l.load(2);
    expect([l.value, l.error]).toEqual([4, null]);
    fail = true;
    await l.load(3);
    expect(l.value).toBe(4);
    expect(l.error?.message).toBe('locked');
    fail = false;
    await l.load(5);
    expect([l.value, l.error]).toEqual([10, null]);
  });

  it('wraps what is not an ErrorDto into one', async () => {
    const l = new Loaded(() => Promise.reject(new Error('boom')));
    await l.load();
    expect(l.error).toMatchObject({ kind: 'other', message: 'boom' });
  });
});
