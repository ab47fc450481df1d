// Generated from src-tauri/src/bindings.rs by `UPDATE_BINDINGS=1 cargo test -p latchkey-desktop bindings`.
// Do not edit by hand.

export type ProfileDto = { name: string, clientId: string, issuer: string | null, authorizationEndpoint: string, tokenEndpoint: string, revocationEndpoint: string | null, userinfoEndpoint: string | null, scopes: Array<string>, authMethod: AuthMethodDto, 
/**
 * Whether the profile is a confidential client (its secret is in the keychain).
 */
hasClientSecret: boolean, 
/**
 * A confidential client whose secret the keychain does not hold (e.g. imported from a
 * shared file): it must be entered before a sign-in.
 */
clientSecretMissing: boolean, redirectMode: RedirectModeDto, 
/**
 * A fixed redirect URI from the profile, if any.
 */
redirectUri: string | null, 
/**
 * The exact redirect URI to register at the provider.
 */
redirectUriToRegister: string, grant: GrantDto, 
/**
 * Where the device flow starts; `None`: the profile cannot sign in with a code.
 */
deviceAuthorizationEndpoint: string | null, extraAuthorizeParams: Array<ParamDto>, extraTokenParams: Array<ParamDto>, 
/**
 * Legacy grants the profile opted in to (RFC 9700 discourages them).
 */
allowedLegacyGrants: Array<LegacyGrantDto>, 
/**
 * The profile's HTTPS proxy (never with credentials); `None`: the environment's, if any.
 */
proxy: string | null, 
/**
 * A PEM file of CAs trusted for this profile besides the system's.
 */
caFile: string | null, 
/**
 * DPoP-bound tokens (RFC 9449).
 */
dpop: boolean, 
/**
 * Pushed authorization requests (RFC 9126).
 */
par: boolean, 
/**
 * RFC 8707 resource indicators sent on every request.
 */
resources: Array<string>, };

export type GrantDto = "authorization-code" | "client-credentials";

export type LegacyGrantDto = "implicit" | "password";

export type LegacyGrantInfo = { grant: LegacyGrantDto, warning: string, };

export type ParamDto = { key: string, value: string, };

export type PresetVariableDto = { name: string, default: string | null, help: string, };

export type PresetDto = { name: string, title: string, description: string, 
/**
 * Where the provider documents client registration.
 */
docs: string | null, builtIn: boolean, variables: Array<PresetVariableDto>, };

export type FilledPresetDto = { 
/**
 * Discover from this issuer…
 */
issuer: string | null, 
/**
 * …or these endpoints (when `issuer` is `null`).
 */
authorizationEndpoint: string | null, tokenEndpoint: string | null, revocationEndpoint: string | null, userinfoEndpoint: string | null, deviceAuthorizationEndpoint: string | null, scopes: Array<string>, authMethod: AuthMethodDto | null, redirectMode: RedirectModeDto, 
/**
 * The provider refuses token requests without the client secret.
 */
clientSecretRequired: boolean, extraAuthorizeParams: Array<ParamDto>, extraTokenParams: Array<ParamDto>, };

export type DeviceSignInStarted = { id: number, profile: string, 
/**
 * The code to enter at the verification page (not a secret).
 */
userCode: string, verificationUri: string, 
/**
 * The page with the code filled in, when the provider gives one.
 */
verificationUriComplete: string | null, 
/**
 * Whether "Open the page" has a web address to open.
 */
canOpen: boolean, 
/**
 * Unix seconds when the code expires.
 */
expiresAt: number, };

export type AuthMethodDto = "basic" | "post" | "none" | "private-key-jwt";

export type RedirectModeDto = "loopback" | "deep-link";

export type AccountDto = { 
/**
 * `PROFILE/LABEL`, what the CLI calls it.
 */
id: string, profile: string, label: string, subject: string | null, scopes: Array<string>, 
/**
 * Unix seconds.
 */
expiresAt: number | null, hasRefreshToken: boolean, 
/**
 * Why the account needs a new sign-in, when it does.
 */
needsSignIn: string | null, signedInAt: number, 
/**
 * Its tokens are DPoP-bound (RFC 9449): a copied token needs a proof to be of use.
 */
dpopBound: boolean, };

export type Overview = { profiles: Array<ProfileDto>, accounts: Array<AccountDto>, 
/**
 * Backend clock, Unix seconds (countdowns use it to correct for skew).
 */
now: number, configDir: string, };

export type DiscoveryDto = { issuer: string, authorizationEndpoint: string | null, tokenEndpoint: string | null, revocationEndpoint: string | null, userinfoEndpoint: string | null, scopesSupported: Array<string> | null, pkceS256: boolean, issParameter: boolean, };

export type EndpointsInput = { "mode": "issuer", issuer: string, } | { "mode": "manual", authorization: string, token: string, revocation: string | null, userinfo: string | null, } | { "mode": "resource", resource: string, };

export type ProfileInput = { name: string, clientId: string, 
/**
 * Sent once, stored in the keychain, never sent back. `null` keeps the stored one on edit.
 */
clientSecret: string | null, endpoints: EndpointsInput, scopes: Array<string>, authMethod: AuthMethodDto | null, redirectMode: RedirectModeDto, redirectUri: string | null, grant: GrantDto, 
/**
 * `null` or empty: from discovery (or none).
 */
deviceAuthorizationEndpoint: string | null, extraAuthorizeParams: Array<ParamDto>, extraTokenParams: Array<ParamDto>, 
/**
 * Legacy grants to allow (each with a warning in the form).
 */
allowedLegacyGrants: Array<LegacyGrantDto>, 
/**
 * `null` or empty: the environment's proxy (HTTPS_PROXY, ALL_PROXY), if any. Sensitive:
 * a password typed into it must not reach `Debug` (the engine refuses it).
 */
proxy?: string | null, 
/**
 * `null` or empty: the system's CAs only.
 */
caFile?: string | null, 
/**
 * DPoP-bound tokens (RFC 9449).
 */
dpop?: boolean, 
/**
 * Pushed authorization requests (RFC 9126) even when the provider does not require them.
 */
par?: boolean, 
/**
 * RFC 8707 resource indicators (e.g. an MCP server's URL), sent on every request.
 */
resources?: Array<string>, };

export type SignInStarted = { id: number, profile: string, 
/**
 * The label of the account it signs in as, when the window named one.
 */
account: string | null, 
/**
 * The legacy implicit grant (the token comes back in the redirect's fragment).
 */
implicit: boolean, redirectMode: RedirectModeDto, redirectUri: string, 
/**
 * The URL the browser was sent to (for "copy the link" when no browser opened).
 */
authorizationUrl: string, browserOpened: boolean, 
/**
 * Unix seconds after which the sign-in is abandoned.
 */
expiresAt: number, };

export type SignInEvent = { "kind": "completed", id: number, account: AccountDto, } | { "kind": "failed", id: number, error: ErrorDto, } | { "kind": "rejected", error: ErrorDto, };

export type NoticeKindDto = "keychain-refuses-issued-tokens" | "callback-refused" | "needs-sign-in" | "earlier-grant-replaced";

export type NoticeDto = { kind: NoticeKindDto, 
/**
 * The profile whose sign-in the notice is about (`callback-refused`).
 */
profile: string | null, 
/**
 * The engine's words (provider text in it is already escaped).
 */
message: string, };

export type CopyWhat = "access-token" | "authorization-header" | "refresh-token";

export type CopyResult = { what: CopyWhat, 
/**
 * Seconds until the clipboard is cleared (when it still holds the copy).
 */
clearsInSecs: number, 
/**
 * Whether the clipboard entry was marked as a secret for clipboard managers.
 */
concealed: boolean, 
/**
 * The account after a refresh the copy may have needed.
 */
account: AccountDto, };

export type AccountDetails = { account: AccountDto, idTokenClaims: Record<string, unknown> | null, hasIdToken: boolean, };

export type UseInDto = { 
/**
 * The git server the git line is for.
 */
gitUrl: string, 
/**
 * Whether `git_url` is a stand-in to replace (the provider's preset names no git server).
 */
gitUrlIsPlaceholder: boolean, 
/**
 * `git config` commands installing the credential helper for `git_url`.
 */
git: string, 
/**
 * The kubeconfig `users:` entry.
 */
kubeconfig: string, 
/**
 * The `.latchkey.env` line.
 */
envLine: string, };

export type SignOutResult = { revoked: boolean, };

export type ErrorKindDto = "usage" | "not-found" | "needs-sign-in" | "provider" | "network" | "keychain" | "sign-in" | "other" | "refused";

export type ErrorActionKind = "sign-in" | "edit-profile" | "advice";

export type ErrorActionDto = { kind: ErrorActionKind, label: string, 
/**
 * The profile the action concerns, where there is one.
 */
profile: string | null, 
/**
 * For `sign-in`: the account's label, so the sign-in heals that account (without it a
 * sign-in names the account after the id_token, which may be another one).
 */
account: string | null, };

export type ErrorDto = { kind: ErrorKindDto, message: string, 
/**
 * The provider's `error` code (`access_denied`, `invalid_grant`…), when it sent one.
 */
providerError: string | null, providerDescription: string | null, 
/**
 * What the user can do about it, when the engine knows.
 */
action: ErrorActionDto | null, };

export type HistoryEntryDto = { 
/**
 * Unix seconds.
 */
time: number, account: string, 
/**
 * What for: `token`, `refresh`, `exec`, `git`, `kube`, `copy`, `proxy`, `serve`.
 */
how: string, 
/**
 * How the request reached the door: `direct`, `agent`, `window`, `tray`, `forwarded`,
 * `serve`, `proxy`.
 */
via: string, 
/**
 * The program that holds the token, as the door established it.
 */
pid?: number | null, exe?: string | null, 
/**
 * The process the door talked to when it is not the program (the `latchkey` CLI).
 */
client_pid?: number | null, 
/**
 * Where from: `window` or `tray` in the app, the SSH destination, `serve:NAME`.
 */
from?: string | null, 
/**
 * What the door decided: `allowed`, `refused`, `by hand`, `asked: …` (absent in lines
 * written before access rules existed).
 */
decision?: string | null, 
/**
 * The access rule that decided, if one did.
 */
rule?: string | null, };

export type ImportPreview = { 
/**
 * The file or URL, as messages name it.
 */
origin: string, 
/**
 * The profiles it holds.
 */
names: Array<string>, 
/**
 * Those whose names exist here: the user replaces them, imports them under other names,
 * or cancels.
 */
conflicts: Array<string>, };

export type RenameDto = { from: string, to: string, };

export type ImportedDto = { name: string, 
/**
 * It replaced a profile of the same name (whose accounts are kept).
 */
replaced: boolean, 
/**
 * It needs a client secret the keychain does not hold (a shared file never carries one).
 */
needsSecret: boolean, 
/**
 * What each legacy grant it allows risks (a shared file may turn one on).
 */
warnings: Array<string>, };

export type AccessQuestionDto = { id: number, 
/**
 * `profile/label`.
 */
account: string, 
/**
 * The program's path (or `serve:NAME`), as rules name it.
 */
program: string, pid: number | null, 
/**
 * What the token is for: `token`, `refresh`, `exec`, `git`, `kube`, …
 */
purpose: string, 
/**
 * How the request arrived: `agent`, `forwarded`, …
 */
arrival: string, };

export type AccessAnswerDto = "allow-once" | "allow-for-an-hour" | "always-allow" | "deny";

export type DecisionDto = "allow" | "ask" | "deny";

export type RuleScopeDto = "account" | "profile" | "everyone";

export type AccessRuleDto = { 
/**
 * What `latchkey access remove` and `remove_access_rule` take.
 */
id: string, decision: DecisionDto, 
/**
 * As written in access.toml: `profile/label`, `profile` or `*`.
 */
target: string, scope: RuleScopeDto, 
/**
 * A path, a file name or `serve:NAME`; `null`: any program.
 */
program: string | null, 
/**
 * Unix seconds; `null`: never.
 */
expiresAt: number | null, 
/**
 * Past its expiry: the door no longer weighs it.
 */
expired: boolean, };
