// The screen the window shows, and what the shell keeps of it while the window is closed to
// the tray (src-tauri/src/window.rs): the next window opens on the same screen. Free of Svelte
// and Tauri so Vitest can test it directly.
import type { DeviceSignInStarted, ProfileDto, SignInStarted } from './bindings';

export type Screen =
  | { name: 'accounts' }
  | { name: 'profile'; editing: ProfileDto | null }
  | { name: 'sign-in' }
  | { name: 'device' }
  | { name: 'password'; profile: string }
  | { name: 'details'; account: string }
  | { name: 'share' };

/** What a new window needs to show the same screen: a sign-in in progress (which the shell
 *  still waits for) comes back with its screen, and its outcome, queued meanwhile, lands there. */
export interface SavedView {
  screen: Screen;
  signIn: SignInStarted | null;
  device: DeviceSignInStarted | null;
  deviceOpened: boolean;
  lastStartedId: number;
}

export function saveView(v: SavedView): string {
  return JSON.stringify(v);
}

const NAMES = new Set(['accounts', 'profile', 'sign-in', 'device', 'password', 'details', 'share']);

/** The view to start on, from what the shell kept; the accounts when there is none or it does
 *  not hold together (a sign-in screen without its sign-in). */
export function restoreView(json: string | null): SavedView {
  const start: SavedView = { screen: { name: 'accounts' }, signIn: null, device: null, deviceOpened: false, lastStartedId: 0 };
  if (!json) return start;
  let v: Partial<SavedView>;
  try {
    v = JSON.parse(json);
  } catch {
    return start;
  }
  if (!v || typeof v !== 'object' || !v.screen || !NAMES.has(v.screen.name)) return start;
  const signIn = v.signIn ?? null;
  const device = v.device ?? null;
  const lastStartedId = typeof v.lastStartedId === 'number' ? v.lastStartedId : 0;
  const kept = { ...start, signIn, device, lastStartedId, deviceOpened: v.deviceOpened === true };
  if (v.screen.name === 'sign-in' && !signIn) return kept;
  if (v.screen.name === 'device' && !device) return kept;
  if (v.screen.name === 'details' && typeof v.screen.account !== 'string') return kept;
  if (v.screen.name === 'password' && typeof v.screen.profile !== 'string') return kept;
  return { ...kept, screen: v.screen };
}
