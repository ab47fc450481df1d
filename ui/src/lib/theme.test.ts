import { describe, expect, it, vi } from 'vitest';

// The shell's answer and its `appearance` events come through a fake IPC.
const invoke = vi.fn();
let emit: (payload: unknown) => void = () => {};
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }));
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (_name: string, h: (e: { payload: unknown }) => void) => {
    emit = (payload) => h({ payload });
    return () => {};
  }),
}));

const { followAppearance } = await import('./theme');

function fakeMedia(matches: boolean) {
  const listeners: (() => void)[] = [];
  return {
    matches,
    addEventListener: (_: string, l: () => void) => listeners.push(l),
    flip() {
      this.matches = !this.matches;
      listeners.forEach((l) => l());
    },
  };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('followAppearance', () => {
  it("takes the desktop's preference over the page's own, and its changes", async () => {
    invoke.mockResolvedValueOnce('dark');
    const root = { dataset: {} } as HTMLElement;
    const media = fakeMedia(false);
    followAppearance(root, media as unknown as MediaQueryList);
    expect(root.dataset.theme).toBe('light'); // before the shell answers
    await tick();
    expect(invoke).toHaveBeenCalledWith('appearance', undefined);
    expect(root.dataset.theme).toBe('dark');
    media.flip(); // the page's own preference no longer matters
    expect(root.dataset.theme).toBe('dark');
    emit('light');
    expect(root.dataset.theme).toBe('light');
    emit(null); // the desktop stopped saying: the page's own (now dark)
    expect(root.dataset.theme).toBe('dark');
  });

  it("follows the page's prefers-color-scheme when the desktop does not say", async () => {
    invoke.mockResolvedValueOnce(null);
    const root = { dataset: {} } as HTMLElement;
    const media = fakeMedia(true);
    followAppearance(root, media as unknown as MediaQueryList);
    await tick();
    expect(root.dataset.theme).toBe('dark');
    media.flip();
    expect(root.dataset.theme).toBe('light');
  });

  it('keeps a change that arrived before the first answer', async () => {
    let answer: (v: unknown) => void = () => {};
    invoke.mockReturnValueOnce(new Promise((r) => (answer = r)));
    const root = { dataset: {} } as HTMLElement;
    followAppearance(root, fakeMedia(false) as unknown as MediaQueryList);
    await tick();
    emit('dark');
    answer('light');
    await tick();
    expect(root.dataset.theme).toBe('dark');
  });
});
