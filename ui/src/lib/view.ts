// View logic, kept free of Svelte and Tauri so Vitest can test it directly.
import type { AccountDto, ErrorDto, NoticeDto, NoticeKindDto, ParamDto, ProfileDto, RedirectModeDto, SignInStarted } from './bindings';

export type Status = 'ok' | 'expiring' | 'expired' | 'needs-sign-in';

/** Seconds before expiry at which an account is shown as "expiring". */
export const EXPIRING_WITHIN = 5 * 60;

/** `machine`: a client credentials account, which renews without a refresh token. */
export function accountStatus(a: AccountDto, now: number, machine = false): Status {
  if (a.needsSignIn) return 'needs-sign-in';
  if (a.expiresAt === null) return 'ok';
  if (a.expiresAt <= now) return a.hasRefreshToken || machine ? 'expired' : 'needs-sign-in';
  if (a.expiresAt - now <= EXPIRING_WITHIN) return 'expiring';
  return 'ok';
}

export const STATUS_LABEL: Record<Status, string> = {
  ok: 'OK',
  expiring: 'Expiring',
  expired: 'Expired',
  'needs-sign-in': 'Needs sign-in',
};

/** "3 h 5 min", "4 min 09 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min ${String(sec).padStart(2, '0')} s`;
  return `${sec} s`;
}

/** The live countdown line of an account. */
export function expiryText(a: AccountDto, now: number, machine = false): string {
  if (a.expiresAt === null) return 'No expiry given by the provider';
  const left = a.expiresAt - now;
  if (left > 0) return `Expires in ${formatDuration(left)}`;
  const ago = `Expired ${formatDuration(-left)} ago`;
  return a.hasRefreshToken || machine ? `${ago} · renews on next copy` : ago;
}

export interface ProfileGroup {
  profile: ProfileDto | null;
  name: string;
  accounts: AccountDto[];
}

/** Accounts grouped under their profile, profiles in name order; accounts whose profile is
 *  gone (a hand-edited config) get a group of their own so they can still be signed out. */
export function groupAccounts(profiles: ProfileDto[], accounts: AccountDto[]): ProfileGroup[] {
  const byName = new Map<string, ProfileGroup>();
  const cmp = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: 'base' });
  for (const p of [...profiles].sort((a, b) => cmp(a.name, b.name))) {
    byName.set(p.name, { profile: p, name: p.name, accounts: [] });
  }
  for (const a of accounts) {
    let g = byName.get(a.profile);
    if (!g) {
      g = { profile: null, name: a.profile, accounts: [] };
      byName.set(a.profile, g);
    }
    g.accounts.push(a);
  }
  for (const g of byName.values()) g.accounts.sort((a, b) => cmp(a.label, b.label));
  return [...byName.values()];
}

/** Scopes as users type them: spaces or commas, duplicates dropped. */
export function parseScopes(input: string): string[] {
  const out: string[] = [];
  for (const s of input.split(/[\s,]+/)) if (s && !out.includes(s)) out.push(s);
  return out;
}

/** What the provider must have registered, before the profile exists. */
export function redirectToRegister(mode: RedirectModeDto, custom: string): string {
  const c = custom.trim();
  if (c) return c;
  return mode === 'deep-link' ? 'latchkey://callback' : 'http://127.0.0.1/callback';
}

export function redirectHelp(mode: RedirectModeDto): string {
  return mode === 'deep-link'
    ? 'Your browser hands the answer to Latchkey through the latchkey:// link. Most providers accept it for desktop ("native") clients.'
    : 'Latchkey listens on 127.0.0.1 on a free port for the duration of the sign-in (RFC 8252). Use this for providers that refuse custom schemes, such as Google.';
}

/** Title and advice for an error, by kind; the message itself is shown as the backend wrote it. */
export function errorTitle(e: ErrorDto): string {
  if (e.providerError) return `The provider answered ${e.providerError}`;
  switch (e.kind) {
    case 'usage':
      return 'Check the form';
    case 'not-found':
      return 'Not found';
    case 'needs-sign-in':
      return 'Sign in again';
    case 'provider':
      return 'The provider refused';
    case 'network':
      return 'Provider not reachable';
    case 'keychain':
      return 'System keychain problem';
    case 'sign-in':
      return 'Sign-in not completed';
    default:
      return 'Something went wrong';
  }
}

/** What the backend says to do about an error: its label, and the profile to sign in to when
 * that is the action (the error box then shows a button), with the account's label to sign in
 * as when the backend named one. */
export function errorAction(e: ErrorDto): { label: string; signIn: string | null; account: string | null } | null {
  if (!e.action) return null;
  const signIn = e.action.kind === 'sign-in' ? e.action.profile : null;
  return { label: e.action.label, signIn, account: signIn ? e.action.account : null };
}

/** General advice by kind, when the backend named no action. */
export function errorAdvice(e: ErrorDto): string | null {
  if (e.action) return null;
  if (e.providerError === 'access_denied') return 'The sign-in was declined in the browser. Start it again to retry.';
  switch (e.kind) {
    case 'network':
      return 'Check your network connection and the provider URL, then try again.';
    case 'keychain':
      return 'Latchkey keeps tokens in the system keychain (Secret Service). Make sure it is running and unlocked.';
    case 'needs-sign-in':
      return 'Use “Sign in” on this provider to get a new grant.';
    default:
      return null;
  }
}

/** Claims in a readable order: identity first, then times, then the rest alphabetically. */
const CLAIM_ORDER = ['sub', 'name', 'preferred_username', 'email', 'email_verified', 'iss', 'aud', 'azp', 'iat', 'auth_time', 'exp', 'nonce'];
export const TIME_CLAIMS = new Set(['iat', 'exp', 'auth_time', 'nbf', 'updated_at']);

export function claimRows(claims: Record<string, unknown>): { key: string; value: string }[] {
  const keys = Object.keys(claims).sort((a, b) => {
    const ia = CLAIM_ORDER.indexOf(a);
    const ib = CLAIM_ORDER.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.localeCompare(b);
  });
  return keys.map((key) => ({ key, value: claimValue(key, claims[key]) }));
}

export function claimValue(key: string, v: unknown): string {
  if (TIME_CLAIMS.has(key) && typeof v === 'number') {
    return `${new Date(v * 1000).toISOString().replace('T', ' ').replace('.000Z', ' UTC')} (${v})`;
  }
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export function hostOf(url: string | null): string {
  if (!url) return '';
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export const COPY_LABEL = {
  'access-token': 'Access token',
  'authorization-header': 'Authorization header',
  'refresh-token': 'Refresh token',
} as const;

/** The form's parameter rows as sent: trimmed keys, rows left entirely blank dropped. */
export function cleanParams(rows: ParamDto[]): ParamDto[] {
  return rows
    .map((r) => ({ key: r.key.trim(), value: r.value }))
    .filter((r) => r.key !== '' || r.value.trim() !== '');
}

/** The engine's messages are clauses ("the implicit grant is…"); shown alone they read as sentences. */
export function asSentence(clause: string): string {
  const t = clause.trim();
  if (!t) return '';
  return `${t[0].toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/** Whether an engine notice belongs in the sign-in screen shown (a refused response to that
 * sign-in, which is still waiting) rather than in a toast. */
export function isRefusalOf(n: NoticeDto, signIn: SignInStarted | null): boolean {
  return n.kind === 'callback-refused' && signIn !== null && signIn.redirectMode === 'loopback' && n.profile === signIn.profile;
}

export const NOTICE_TITLE: Record<NoticeKindDto, string> = {
  'keychain-refuses-issued-tokens': 'Unlock your keyring',
  'callback-refused': 'Sign-in response refused',
  'needs-sign-in': 'Sign in again',
  'earlier-grant-replaced': 'Earlier sign-in replaced',
};

/** A user code grouped for reading aloud and typing: "WDJB-MJHT" stays, "WDJBMJHT" gains a dash. */
export function formatUserCode(code: string): string {
  if (/[-\s]/.test(code) || code.length < 6 || code.length % 4 !== 0) return code;
  return code.match(/.{4}/g)!.join('-');
}
