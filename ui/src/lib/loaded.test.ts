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

  it('drops an answer older than one already shown, a value or an error', async () => {
    // Each call answers when the test says so: the first two out of order.
    const answers: ((r: { ok: number } | { err: string }) => void)[] = [];
    const l = new Loaded(() => new Promise<number>((resolve, reject) => {
      answers.push((r) => ('ok' in r ? resolve(r.ok) : reject(new Error(r.err))));
    }));
    expect(l.pending).toBe(true);
    const first = l.load();
    const second = l.load();
    answers[1]({ ok: 2 });
    expect(await second).toBe(2);
    answers[0]({ ok: 1 });
    expect(await first).toBeNull();
    expect([l.value, l.error, l.pending]).toEqual([2, null, false]);
    const third = l.load();
    const fourth = l.load();
    answers[3]({ ok: 4 });
    await fourth;
    answers[2]({ err: 'stale' });
    await third;
    expect([l.value, l.error]).toEqual([4, null]);
  });

  it('wraps what is not an ErrorDto into one', async () => {
    const l = new Loaded(() => Promise.reject(new Error('boom')));
    await l.load();
    expect(l.error).toMatchObject({ kind: 'other', message: 'boom' });
  });
});
