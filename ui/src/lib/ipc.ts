// The only place the UI talks to the backend. Argument and result types come from the Rust
// DTOs (./bindings.ts is generated); command names match src-tauri/src/commands.rs.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AccessAnswerDto,
  AccessQuestionDto,
  AccessRuleDto,
  AccountDetails,
  AccountDto,
  CopyResult,
  CopyWhat,
  DeviceSignInStarted,
  DiscoveryDto,
  FilledPresetDto,
  HistoryEntryDto,
  ParamDto,
  PresetDto,
  ErrorDto,
  ImportedDto,
  ImportPreview,
  LegacyGrantInfo,
  NoticeDto,
  Overview,
  ProfileDto,
  ProfileInput,
  RenameDto,
  SignInEvent,
  SignInStarted,
  SignOutResult,
  UseInDto,
} from './bindings';

export type * from './bindings';

/** Commands reject with an ErrorDto; anything else (a bug, IPC failure) is wrapped into one. */
export function asError(e: unknown): ErrorDto {
  if (e && typeof e === 'object' && 'kind' in e && 'message' in e) return e as ErrorDto;
  return {
    kind: 'other',
    message: typeof e === 'string' ? e : e instanceof Error ? e.message : 'Something went wrong.',
    providerError: null,
    providerDescription: null,
    action: null,
  };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asError(e);
  }
}

export const ipc = {
  overview: () => call<Overview>('overview'),
  /** Through the form's proxy and CA file, when given. */
  discover: (issuer: string, proxy: string | null = null, caFile: string | null = null) =>
    call<DiscoveryDto>('discover', { issuer, proxy, caFile }),
  saveProfile: (input: ProfileInput, editing: boolean) =>
    call<ProfileDto>('save_profile', { input, editing }),
  removeProfile: (name: string) => call<void>('remove_profile', { name }),
  /** `account`: the label to sign in as, else the id_token names the account. */
  beginSignIn: (profile: string, implicit = false, account: string | null = null) =>
    call<SignInStarted>('begin_sign_in', { profile, implicit, account }),
  legacyGrants: () => call<LegacyGrantInfo[]>('legacy_grants'),
  signInPassword: (profile: string, username: string, password: string) =>
    call<AccountDto>('sign_in_password', { profile, username, password }),
  beginDeviceSignIn: (profile: string) =>
    call<DeviceSignInStarted>('begin_device_sign_in', { profile }),
  openDevicePage: (id: number) => call<boolean>('open_device_page', { id }),
  presets: () => call<PresetDto[]>('presets'),
  fillPreset: (name: string, values: ParamDto[]) =>
    call<FilledPresetDto>('fill_preset', { name, values }),
  cancelSignIn: (id: number) => call<boolean>('cancel_sign_in', { id }),
  copySecret: (account: string, what: CopyWhat) =>
    call<CopyResult>('copy_secret', { account, what }),
  copyText: (text: string) => call<void>('copy_text', { text }),
  refreshAccount: (account: string) => call<AccountDto>('refresh_account', { account }),
  signOut: (account: string, revoke: boolean) =>
    call<SignOutResult>('sign_out', { account, revoke }),
  accountDetails: (account: string) => call<AccountDetails>('account_details', { account }),
  useIn: (account: string, gitUrl: string | null = null) =>
    call<UseInDto>('use_in', { account, gitUrl }),
  uiReady: () => call<SignInEvent[]>('ui_ready'),
  /** The screen shown, kept by the shell for the next window (as lib/screen.ts writes it). */
  rememberView: (view: string) => call<void>('remember_view', { view }),
  rememberedView: () => call<string | null>('remembered_view'),
  /** Who took the account's tokens, newest first (never a token). */
  accountHistory: (account: string) => call<HistoryEntryDto[]>('account_history', { account }),
  /** The access rules that can decide for the account, as the door weighs them. */
  accountRules: (account: string) => call<AccessRuleDto[]>('account_rules', { account }),
  /** Removes rule `id` from access.toml (the rest of the file is kept). */
  removeAccessRule: (account: string, rule: AccessRuleDto) =>
    call<void>('remove_access_rule', { account, id: rule.id, decision: rule.decision, program: rule.program }),
  /** Start at login, as read back from the system. */
  startAtLogin: () => call<boolean>('start_at_login'),
  setStartAtLogin: (enabled: boolean) => call<boolean>('set_start_at_login', { enabled }),
  /** The tray copied a token: the clipboard's countdown. */
  onTrayCopy: (handler: (r: CopyResult) => void): Promise<UnlistenFn> =>
    listen<CopyResult>('tray-copy', (event) => handler(event.payload)),
  /** A notification or the tray asks for an account's sign-in. */
  onOpenSignIn: (handler: (e: { account: string; profile: string }) => void): Promise<UnlistenFn> =>
    listen<{ account: string; profile: string }>('open-sign-in', (event) => handler(event.payload)),
  /** The backend opens the save dialog; the path written, or null when cancelled. */
  exportProfilesFile: (names: string[]) => call<string | null>('export_profiles_file', { names }),
  /** The backend opens the open dialog and checks the file; null when cancelled. */
  importProfilesFile: () => call<ImportPreview | null>('import_profiles_file'),
  importProfilesUrl: (url: string) => call<ImportPreview>('import_profiles_url', { url }),
  importProfilesApply: (replace: boolean, renames: RenameDto[]) =>
    call<ImportedDto[]>('import_profiles_apply', { replace, renames }),
  importProfilesCancel: () => call<void>('import_profiles_cancel'),
  onSignIn: (handler: (e: SignInEvent) => void): Promise<UnlistenFn> =>
    listen<SignInEvent>('sign-in', (event) => handler(event.payload)),
  /** A program asks for a token and an access rule says ask (the app is the agent). */
  onAccessAsked: (handler: (q: AccessQuestionDto) => void): Promise<UnlistenFn> =>
    listen<AccessQuestionDto>('access-asked', (event) => handler(event.payload)),
  /** A question no longer waits: answered, or given up after the door's 60 s. */
  onAccessGone: (handler: (id: number) => void): Promise<UnlistenFn> =>
    listen<number>('access-gone', (event) => handler(event.payload)),
  /** The user's answer; refused unless question `id` still waits. */
  answerAccess: (id: number, answer: AccessAnswerDto) => call<void>('answer_access', { id, answer }),
  /** The engine's notices while something runs: "unlock your keyring…", "refused a response…". */
  onNotice: (handler: (n: NoticeDto) => void): Promise<UnlistenFn> =>
    listen<NoticeDto>('notice', (event) => handler(event.payload)),
};

/** Light or dark, as the desktop prefers it (src-tauri/src/appearance.rs); `null` when it does not say. */
export type Scheme = 'light' | 'dark';
export const appearanceIpc = {
  current: () => call<Scheme | null>('appearance'),
  onChange: (handler: (s: Scheme | null) => void): Promise<UnlistenFn> =>
    listen<Scheme | null>('appearance', (event) => handler(event.payload)),
};
