// End-to-end test of the desktop app: real app binary (WebDriver via tauri-driver and
// WebKitWebDriver), real OpenID Provider (tests/authserver), real gnome-keyring, real X
// clipboard, real deep-link delivery (scripted browser -> xdg-open -> registered handler ->
// second instance -> single-instance forward). Run it inside scripts/with-keyring (private
// D-Bus session, throw-away HOME); scripts/test-desktop does.
//
// env: LATCHKEY_DESKTOP_BIN   app binary (default target/debug/latchkey-desktop)
//      LATCHKEY_CLI_BIN       CLI binary (default target/debug/latchkey)
//      LATCHKEY_SCREENSHOTS   where to save screenshots (default docs/screenshots)
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, writeFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from './webdriver.mjs';
import { trayPass } from './tray.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const appBin = path.resolve(root, process.env.LATCHKEY_DESKTOP_BIN ?? 'target/debug/latchkey-desktop');
const cliBin = path.resolve(root, process.env.LATCHKEY_CLI_BIN ?? 'target/debug/latchkey');
const shots = path.resolve(root, process.env.LATCHKEY_SCREENSHOTS ?? 'docs/screenshots');
const work = mkdtempSync(path.join(tmpdir(), 'latchkey-e2e-'));
const browserEnv = path.join(work, 'browser.env');
const children = [];
const started = Date.now();
// The app clears a copied token after 30 s; the test shortens that to keep the run fast.
const CLEAR_SECS = 3;

function log(msg) {
  console.log(`[e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
function track(child, name) {
  children.push(child);
  child.on('exit', (code, sig) => {
    if (!child.expectedExit) log(`${name} exited (${code ?? sig})`);
  });
  return child;
}
async function stop(child) {
  if (!child || child.exitCode !== null) return;
  child.expectedExit = true;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 3000);
    child.on('exit', () => { clearTimeout(t); r(); });
  });
}

/** Waits for a line matching `re` on the child's stdout or stderr. */
function waitLine(child, re, what, timeout = 20000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what}: no ${re} within ${timeout} ms; output: ${buf.slice(-500)}`)), timeout);
    const on = (d) => {
      buf += d.toString();
      const m = buf.match(re);
      if (m) { clearTimeout(t); resolve(m); }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (c) => { clearTimeout(t); reject(new Error(`${what} exited (${c}) early: ${buf.slice(-500)}`)); });
  });
}

async function startXvfb() {
  if (process.env.DISPLAY) return;
  const xvfb = track(spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'pipe'] }), 'Xvfb');
  const [, n] = await waitLine(xvfb, /^(\d+)\s*$/m, 'Xvfb');
  process.env.DISPLAY = `:${n}`;
  log(`Xvfb on :${n}`);
}

async function startAuthServer() {
  const srv = track(spawn('node', [path.join(root, 'tests/authserver/server.mjs')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: '0' } }), 'auth server');
  const [, issuer] = await waitLine(srv, /READY (http:\/\/\S+)/, 'auth server');
  log(`auth server ${issuer}`);
  return { srv, issuer };
}

async function startDriver(extraEnv) {
  const port = await freePort();
  const nativePort = await freePort();
  const driver = track(spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      BROWSER: path.join(here, 'browser-wrapper.sh'),
      LATCHKEY_E2E_BROWSER_ENV: browserEnv,
      SCRIPTED_BROWSER_LOG: path.join(work, 'browser.log'),
      ...extraEnv,
    },
  }), 'tauri-driver');
  let out = '';
  driver.stdout.on('data', (d) => { out += d; });
  driver.stderr.on('data', (d) => { out += d; });
  driver.output = () => out;
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`tauri-driver did not come up: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { driver, base };
}

function browserDoes(vars) {
  writeFileSync(browserEnv, Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
}

async function stats(issuer) {
  return (await fetch(`${issuer}/__test/stats`)).json();
}

async function userinfo(issuer, token) {
  const r = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function shot(s, name) {
  mkdirSync(shots, { recursive: true });
  // Wait until two new frames were painted, then grab the window from the X server (what a
  // user sees; WebDriver's own screenshot needs WebKit's compositing mode, which the app
  // turns off).
  await s.cmd('POST', '/execute/async', {
    script: 'const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));',
    args: [],
  });
  const ids = execFileSync('xdotool', ['search', '--onlyvisible', '--name', '^Latchkey$'], { encoding: 'utf8' }).trim().split('\n');
  const file = path.join(shots, `${name}.png`);
  execFileSync('import', ['-window', ids[ids.length - 1], file]);
  log(`screenshot ${name}.png`);
}

async function waitUntil(pred, what, timeout) {
  const deadline = Date.now() + timeout;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the scripted browser did so far, a line per page it was sent to. */
function browserLog() {
  return readFileSync(path.join(work, 'browser.log'), { flag: 'a+', encoding: 'utf8' });
}

function clipboard(target) {
  const args = ['-o', '-selection', 'clipboard'];
  if (target) args.push('-t', target);
  try {
    return execFileSync('xclip', args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return ''; // nobody owns the clipboard (it was cleared)
  }
}

async function dismissNotices(s) {
  for (const el of await s.findAll('.notice .close')) await s.cmd('POST', `/element/${el}/click`, {}).catch(() => {});
  await s.waitFor('.notice', { gone: true, timeout: 3000 });
}

// Opens the add-provider form (clicked in its centre when `centered`) and types the profile
// name, issuer, client ID and scopes.
async function fillProfileForm(s, centered, name, issuer, clientId, scopes) {
  if (centered) await clickCentered(s, '[data-testid="add-profile"]');
  else await s.click('[data-testid="add-profile"]');
  await s.waitFor('[data-testid="profile-form"]');
  await s.type('[data-testid="profile-name"]', name);
  await s.type('[data-testid="issuer"]', issuer);
  await s.type('[data-testid="client-id"]', clientId);
  await s.type('[data-testid="scopes"]', scopes);
}

/** Clicks `button` back to the accounts screen, which must list no account after `what`. */
async function backWithNoAccount(s, button, what) {
  await s.click(button);
  await s.waitFor('[data-testid="accounts-screen"]');
  assert((await s.findAll('[data-testid="account"]')).length === 0, `no account after ${what}`);
}

async function signInFlowAndFill(s, issuer) {
  await s.click('[data-testid="add-profile"]');
  await s.waitFor('[data-testid="profile-form"]');
  await s.type('[data-testid="profile-name"]', 'test-op');
  await s.type('[data-testid="issuer"]', issuer);
  await s.click('[data-testid="discover"]');
  await s.waitFor('[data-testid="discovered"]', { text: 'Found' });
  await s.type('[data-testid="client-id"]', 'public-app');
  await s.type('[data-testid="scopes"]', 'openid email offline_access');
  await s.click('[data-testid="redirect-deep-link"]');
  const uri = await s.text(await s.waitFor('[data-testid="redirect-to-register"]'));
  assert(uri === 'latchkey://callback', `redirect to register is ${uri}`);
}

/** What a failed run leaves for whoever reads CI's log: the window's text, what the scripted
 *  browser did and the tail of the driver's output (the app's and the browser's stderr). */
async function diagnose(s, driver) {
  const page = await s.exec('return [document.visibilityState, document.hasFocus(), document.body.innerText];')
    .then(([visibility, focus, text]) => `(${visibility}${focus ? ', focused' : ''}) ${String(text).replace(/\s+/g, ' ').slice(0, 1500)}`)
    .catch((e) => `(unreadable: ${e.message})`);
  console.error(`[e2e] the window showed: ${page}`);
  const blog = browserLog() || '(empty)';
  console.error(`[e2e] browser.log:\n${blog.split('\n').slice(-20).join('\n')}`);
  console.error(`[e2e] driver output (tail):\n${driver.output().slice(-3000)}`);
}

/** One pass of the app: a fresh driver (`env` added to its environment) and a session
 *  (started with `args`), `body` run on it. A failure leaves the screenshot `failure-NAME`;
 *  the app and the driver always end, then `cleanup` runs. */
async function inApp(name, env, body, { args, cleanup } = {}) {
  const { driver, base } = await startDriver(env);
  const s = await Session.start(base, appBin, args);
  try {
    await body(s);
  } catch (e) {
    await shot(s, `failure-${name}`).catch(() => {});
    await diagnose(s, driver).catch((d) => console.error(`[e2e] diagnose failed: ${d.message}`));
    throw e;
  } finally {
    await endSession(s, driver);
    await stop(driver);
    cleanup?.();
  }
}

async function lightPass(issuer) {
  await inApp('light', { GTK_THEME: 'Adwaita', LATCHKEY_CLIPBOARD_CLEAR_SECS: String(CLEAR_SECS) }, async (s) => {
    log('session started (light)');
    await s.waitFor('[data-testid="empty-state"]');
    await waitTheme(s, 'light');
    await shot(s, 'accounts-empty-light');

    // Add the profile through the form.
    await signInFlowAndFill(s, issuer);
    await shot(s, 'profile-form-light');
    await s.click('[data-testid="save"]');
    await s.waitFor('[data-testid="profile-group"][data-profile="test-op"]');
    log('profile saved');

    // 1. A callback with a wrong state changes nothing and shows an error.
    const before = await stats(issuer);
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve', SCRIPTED_BROWSER_TAMPER: 'state' });
    await s.click('[data-testid="sign-in"]');
    await s.waitFor('[data-testid="sign-in-screen"]');
    await s.waitFor('[data-testid="notice-rejected"]', { text: 'does not match the sign-in in progress' });
    const after = await stats(issuer);
    assert(JSON.stringify(after.token) === JSON.stringify(before.token), `no token request after a forged callback (${JSON.stringify(before.token)} -> ${JSON.stringify(after.token)})`);
    await s.waitFor('[data-testid="sign-in-screen"] [data-testid="cancel-sign-in"]'); // still waiting
    await shot(s, 'sign-in-wrong-state-light');
    await backWithNoAccount(s, '[data-testid="cancel-sign-in"]', 'a forged callback');
    log('wrong state: rejected, nothing changed');

    // 2. Denial at the consent page shows access_denied.
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'deny' });
    await dismissNotices(s);
    await s.click('[data-testid="sign-in"]');
    await s.waitFor('[data-testid="sign-in-screen"] [data-testid="provider-error"]', { text: 'access_denied' });
    await shot(s, 'sign-in-denied-light');
    await backWithNoAccount(s, '[data-testid="back"]', 'denial');
    log('denial: access_denied shown');

    // 3. The real sign-in through the deep link.
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve' });
    const logged = browserLog().length;
    await s.click('[data-testid="sign-in"]');
    // Which half failed, if one does: the browser's round trip or the app's finish. Waits for
    // this run's own line: the denial's may still be written after its error showed.
    await waitUntil(() => /^(approve latchkey:\/\/callback\/? \S+|failed: .*)$/m.test(browserLog().slice(logged)), 'the browser to hand the answer over', 20000);
    assert(/^approve latchkey:\/\/callback\/? 0$/m.test(browserLog().slice(logged)), `the browser handed the answer over: ${browserLog().slice(logged)}`);
    const accountEl = await s.waitFor('[data-testid="account"][data-status="ok"]', { timeout: 20000 });
    const accountId = await s.attr(accountEl, 'data-account');
    assert(accountId.startsWith('test-op/'), `account id ${accountId}`);
    await s.waitFor('[data-testid="expiry"]', { text: /Expires in/ });
    log(`signed in: ${accountId}`);
    await dismissNotices(s);
    await shot(s, 'accounts-light');

    // 4. Copy token: the clipboard holds a token the provider accepts, marked as secret.
    await s.click(`[data-account="${accountId}"] [data-testid="copy-token"]`);
    await s.waitFor('[data-testid="notice-copied"]');
    await s.waitFor('[data-testid="clipboard-status"]', { text: /cleared in \d+ s/ });
    const copied = clipboard().trim();
    assert(copied.length > 20 && !/\s/.test(copied), 'clipboard holds a token');
    const targets = clipboard('TARGETS');
    assert(targets.includes('x-kde-passwordManagerHint'), `clipboard marked as secret (targets: ${targets.replace(/\n/g, ' ')})`);
    assert(clipboard('x-kde-passwordManagerHint').trim() === 'secret', 'password manager hint is "secret"');
    const ui = await userinfo(issuer, copied);
    assert(ui.status === 200 && ui.body?.sub, `userinfo accepts the copied token (${ui.status})`);
    log(`copied token accepted by userinfo (sub ${ui.body.sub})`);
    await shot(s, 'copied-light');

    // 4b. The clipboard is cleared after the delay when it still holds the token…
    await waitUntil(() => clipboard().trim() !== copied, 'clipboard cleared', (CLEAR_SECS + 5) * 1000);
    log('clipboard cleared after the delay');
    // …and left alone when the user copied something else meanwhile.
    await s.click(`[data-account="${accountId}"] [data-testid="copy-header"]`);
    await waitUntil(() => clipboard().startsWith('Authorization: Bearer '), 'header copied', 5000);
    execFileSync('sh', ['-c', 'printf mine | xclip -selection clipboard -i >/dev/null 2>&1']);
    await new Promise((r) => setTimeout(r, (CLEAR_SECS + 1) * 1000));
    assert(clipboard() === 'mine', 'a later copy by the user is not cleared');
    log('a later copy by the user survives');
    // 4c. Two copies in quick succession: the second one is on the clipboard, and it is
    //     cleared in its turn (not left there by the first copy's timer).
    await s.click(`[data-account="${accountId}"] [data-testid="copy-token"]`);
    await s.click(`[data-account="${accountId}"] [data-testid="copy-header"]`);
    await waitUntil(() => clipboard().startsWith('Authorization: Bearer '), 'second copy on the clipboard', 5000);
    await waitUntil(() => !clipboard().startsWith('Authorization: Bearer '), 'second copy cleared', (CLEAR_SECS + 5) * 1000);
    assert(!clipboard().includes(copied), 'no token left on the clipboard');
    log('two quick copies: the second is cleared in its turn');

    // 5. The CLI sees the same account in the same keyring, answered by the app as its agent
    //    (with the token the app holds), and the history says who took which token.
    const cliToken = execFileSync(cliBin, ['token', accountId], { encoding: 'utf8', timeout: 20000 }).trim();
    const ui2 = await userinfo(issuer, cliToken);
    assert(ui2.status === 200 && ui2.body.sub === ui.body.sub, `userinfo accepts the CLI's token (${ui2.status})`);
    assert(cliToken === copied, 'the CLI got the token the app holds');
    const history = JSON.parse(execFileSync(cliBin, ['history', '--json', '--account', accountId], { encoding: 'utf8', timeout: 20000 }));
    const last = history[history.length - 1];
    assert(last?.how === 'token' && last.via === 'agent' && last.pid === process.pid, `the app answered the CLI as the agent (history: ${JSON.stringify(last)})`);
    assert(history.some((e) => e.how === 'copy' && e.via === 'window' && e.decision === 'by hand'), `the app's copies are in the history (${JSON.stringify(history)})`);
    assert(!JSON.stringify(history).includes(copied), 'no token in the history');
    log('CLI token answered by the app as the agent, accepted by userinfo; history: copy, then token via agent');

    // 5b. An access rule says ask: the app, as the agent, puts the question in the window.
    await askPass(s, accountId, issuer);

    // 6. Details: decoded claims, not verified.
    await s.click(`[data-account="${accountId}"] [data-testid="details"]`);
    await s.waitFor('[data-testid="claims"]', { text: ui.body.sub });
    await s.waitFor('[data-testid="not-verified"]', { text: 'does not verify' });
    // "Use in…": the git line names the account; a git server typed in goes into it, and its
    // copy is plain text (not marked as a secret).
    await s.waitFor('[data-testid="use-in-git"]', { text: accountId });
    await s.waitFor('[data-testid="use-in-kubeconfig"]', { text: accountId });
    await s.waitFor('[data-testid="use-in-env"]', { text: `latchkey:${accountId}` });
    await s.waitFor('[data-testid="git-url-placeholder"]');
    await setValue(s, '[data-testid="use-in-git-url"]', 'https://git.test.example/');
    await s.waitFor('[data-testid="use-in-git"]', { text: 'credential.https://git.test.example.helper' });
    await s.waitFor('[data-testid="git-url-placeholder"]', { gone: true });
    await clickCentered(s, '[data-testid="copy-use-in-git"]');
    const gitLine = await s.exec("return document.querySelector('[data-testid=\"use-in-git\"]').textContent");
    await waitUntil(() => clipboard() === gitLine, 'the git line copied', 5000);
    assert(!clipboard('TARGETS').includes('x-kde-passwordManagerHint'), 'the git line is not marked as secret');
    log('Use in…: git line for the account, with the git server typed in, copied as plain text');
    await dismissNotices(s);
    await s.exec("document.querySelector('[data-testid=\"use-in\"]').scrollIntoView({ block: 'center' })");
    await shot(s, 'use-in-light');
    await s.exec('window.scrollTo(0, 0)');
    await shot(s, 'details-light');
    await clickCentered(s, '[data-testid="details-screen"] button.link');

    // 7. Sign out (with revocation).
    await s.click(`[data-account="${accountId}"] [data-testid="sign-out"]`);
    await s.click('[data-testid="confirm-ok"]');
    await s.waitFor(`[data-account="${accountId}"]`, { gone: true });
    const listed = execFileSync(cliBin, ['accounts'], { encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
    assert(!listed.includes(accountId), 'the CLI no longer lists the account');
    const revoked = await stats(issuer);
    assert(revoked.revocation >= 1, 'sign-out revoked the grant');
    log('signed out and revoked');
  });
  // With the app gone, no agent answers (the session's end may kill the app before it can
  // remove its socket; a socket nobody listens on refuses at once).
  let status = 0;
  try {
    execFileSync(cliBin, ['agent', 'status'], { encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    status = e.status;
  }
  assert(status === 3, `no agent after the app quit (agent status exited ${status})`);
}

/** `latchkey token ACCOUNT` started in the background (the CLI's environment is the test's own):
 *  its exit code, stdout and stderr once it ends. */
function tokenInBackground(accountId) {
  const child = track(spawn(cliBin, ['token', accountId], { stdio: ['ignore', 'pipe', 'pipe'] }), 'latchkey token');
  child.expectedExit = true;
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

/**
 * Ask: with a rule saying ask for the account, `latchkey token` (answered by the app as the
 * agent) waits while the window asks the user: Allow once hands the token out; Deny refuses it
 * (exit 9) and writes a deny rule for the program (this test's node). The rules go at the end.
 */
async function askPass(s, accountId, issuer) {
  const cli = (args) => execFileSync(cliBin, args, { encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
  const askRule = cli(['access', 'ask', accountId]).trim();
  assert(askRule.length > 0, 'access ask prints the rule\'s id');
  const node = readlinkSync('/proc/self/exe');

  // Allow once: the CLI prints the token and exits 0.
  const first = tokenInBackground(accountId);
  await s.waitFor('[data-testid="access-prompt"]', { timeout: 20000 });
  await s.waitFor('[data-testid="access-account"]', { text: accountId });
  await s.waitFor('[data-testid="access-program"]', { text: node });
  await s.waitFor('[data-testid="access-question"]', { text: `(pid ${process.pid})` });
  await s.waitFor('[data-testid="access-question"]', { text: '(token, via agent)' });
  await shot(s, 'access-prompt-light');
  // The buttons take a click only once the question has shown a moment.
  assert(await s.exec('return document.querySelector(\'[data-testid="access-allow-once"]\').disabled') === true
    || await s.exec('return document.querySelector(\'[data-testid="access-prompt"]\').dataset.armed') === 'true',
    'the answers are disabled until the question is armed');
  await s.click('[data-testid="access-prompt"][data-armed="true"] [data-testid="access-allow-once"]');
  const allowed = await first;
  assert(allowed.code === 0, `allowed once: latchkey token exited ${allowed.code} (${allowed.err.trim()})`);
  const token = allowed.out.trim();
  const ui = await userinfo(issuer, token);
  assert(ui.status === 200, `userinfo accepts the token allowed once (${ui.status})`);
  await s.waitFor('[data-testid="access-prompt"]', { gone: true, timeout: 5000 });
  log('ask: Allow once in the window handed the token to the CLI');

  // Deny: exit 9, no token, and a deny rule for the program.
  const second = tokenInBackground(accountId);
  await s.waitFor('[data-testid="access-prompt"]', { timeout: 20000 });
  await s.click('[data-testid="access-prompt"][data-armed="true"] [data-testid="access-deny"]');
  const denied = await second;
  assert(denied.code === 9, `denied: latchkey token exited ${denied.code} (${denied.err.trim()})`);
  assert(denied.out.trim() === '', 'no token printed when denied');
  await s.waitFor('[data-testid="access-prompt"]', { gone: true, timeout: 5000 });
  const rules = JSON.parse(cli(['access', 'list', '--json']));
  const deny = rules.find((r) => r.decision === 'deny' && r.target === accountId && r.program === node);
  assert(deny, `Deny wrote a deny rule for ${node} (rules: ${JSON.stringify(rules)})`);
  const history = JSON.parse(cli(['history', '--json', '--account', accountId]));
  const asked = history.slice(-2).map((e) => JSON.stringify(e));
  assert(asked[0]?.includes('allow once') && asked[1]?.includes('deny'), `history records both answers (${asked.join(' ')})`);
  log(`ask: Deny refused the token (exit 9) and wrote deny rule ${deny.id}`);
  await rulesInDetails(s, accountId, deny.id, askRule, node);
  cli(['access', 'remove', askRule]);
}

/**
 * The account's details list the rules that can decide for it, as the door weighs them (the
 * deny for this program before the ask for any); Remove takes the deny rule out of access.toml
 * by its id, keeping the rest of the file (the ask rule and a hand-written comment).
 */
async function rulesInDetails(s, accountId, denyId, askId, program) {
  const configDir = await s.exec("return document.querySelector('.footer code')?.textContent ?? null");
  assert(configDir, 'config dir shown on the accounts screen');
  const accessFile = path.join(configDir, 'access.toml');
  writeFileSync(accessFile, `# mine: kept by the app\n${readFileSync(accessFile, 'utf8')}`);
  await s.click(`[data-account="${accountId}"] [data-testid="details"]`);
  await s.waitFor(`[data-testid="access-rule"][data-rule="${denyId}"]`, { text: 'Deny' });
  await s.waitFor(`[data-testid="access-rule"][data-rule="${denyId}"]`, { text: path.basename(program) });
  await s.waitFor(`[data-testid="access-rule"][data-rule="${askId}"]`, { text: 'any program' });
  const listed = await s.exec("return [...document.querySelectorAll('[data-testid=\"access-rule\"]')].map((r) => r.dataset.rule)");
  assert(JSON.stringify(listed) === JSON.stringify([denyId, askId]), `the details list the deny rule, then the ask rule (${listed})`);
  await dismissNotices(s);
  await s.exec("document.querySelector('[data-testid=\"access-rules\"]').scrollIntoView({ block: 'center' })");
  await shot(s, 'access-rules-light');
  await clickCentered(s, `[data-rule="${denyId}"] [data-testid="remove-rule"]`);
  await s.waitFor(`[data-rule="${denyId}"]`, { gone: true, timeout: 5000 });
  await s.waitFor(`[data-testid="access-rule"][data-rule="${askId}"]`);
  const after = readFileSync(accessFile, 'utf8');
  assert(!after.includes(denyId), `access.toml no longer has rule ${denyId}:\n${after}`);
  assert(after.includes(askId) && after.includes('# mine: kept by the app'), `the rest of access.toml is kept:\n${after}`);
  log(`access rules: the details listed deny ${denyId} then ask ${askId}; Remove took the deny out of access.toml`);
  await s.exec('window.scrollTo(0, 0)');
  await clickCentered(s, '[data-testid="details-screen"] button.link');
  await s.waitFor(`[data-account="${accountId}"]`);
}

function instanceRunning() {
  try {
    return execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
      'org.freedesktop.DBus.NameHasOwner', 'string:dev.latchkey.desktop.SingleInstance'], { encoding: 'utf8' }).includes('true');
  } catch {
    return false;
  }
}

/** The app processes started under `rootPid` (the driver): only those, never others. */
function appDescendants(rootPid) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const isUnder = (pid) => {
    for (let p = pid, n = 0; p > 1 && n < 64; p = parent.get(p) ?? 0, n += 1) if (p === rootPid) return true;
    return false;
  };
  return [...parent.keys()].filter((pid) => {
    try {
      return isUnder(pid) && readlinkSync(`/proc/${pid}/exe`) === appBin;
    } catch {
      return false;
    }
  });
}

/** Ends a session and makes sure its app has exited: a new WebDriver session would otherwise
 *  start a second instance that forwards to the old one and exits. */
async function endSession(s, driver) {
  await s.end();
  try {
    await waitUntil(() => !instanceRunning(), 'the app to exit after the session ended', 5000);
  } catch {
    const pids = appDescendants(driver.pid);
    log(`app still running after the session ended; terminating ${pids.join(', ') || 'nothing'}`);
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    await waitUntil(() => !instanceRunning(), 'the app to exit', 10000);
  }
}

async function darkPass(issuer) {
  // Dark through GTK's settings.ini (the portal, running, has no preference).
  gtkSettings('gtk-application-prefer-dark-theme=true');
  // Cold start by a deep link: nothing in progress to finish.
  await inApp('dark', {}, async (s) => {
    log('session started (dark, cold start by deep link)');
    await s.waitFor('[data-testid="notice-rejected"]', { text: 'No sign-in in progress' });
    await s.waitFor('[data-testid="profile-group"][data-profile="test-op"]');
    assert((await s.findAll('[data-testid="account"]')).length === 0, 'cold-start link created nothing');
    await waitTheme(s, 'dark');
    await shot(s, 'cold-start-dark');

    // Sign-in in progress (the browser never comes back).
    await dismissNotices(s);
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'ignore' });
    await s.click('[data-testid="sign-in"]');
    await s.waitFor('[data-testid="sign-in-timeout"]');
    await shot(s, 'sign-in-dark');
    await s.click('[data-testid="cancel-sign-in"]');

    browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve' });
    await s.click('[data-testid="sign-in"]');
    const el = await s.waitFor('[data-testid="account"][data-status="ok"]', { timeout: 20000 });
    const id = await s.attr(el, 'data-account');
    await dismissNotices(s);
    await shot(s, 'accounts-dark');
    await s.click(`[data-account="${id}"] [data-testid="details"]`);
    await s.waitFor('[data-testid="claims"]');
    await shot(s, 'details-dark');
    await s.click('[data-testid="copy-refresh"]');
    await s.waitFor('[data-testid="confirm"]');
    await shot(s, 'confirm-refresh-dark');
    await s.click('[data-testid="confirm"] button'); // Cancel
    await s.click('[data-testid="details-screen"] button.link');
    await s.waitFor('[data-testid="accounts-screen"]');
    await dismissNotices(s);

    // A confidential client with a loopback redirect, signed in from the GUI.
    await s.click('[data-testid="add-profile"]');
    await s.waitFor('[data-testid="profile-form"]');
    await s.type('[data-testid="profile-name"]', 'conf-op');
    await s.type('[data-testid="issuer"]', issuer);
    await s.type('[data-testid="client-id"]', 'conf-basic');
    await s.type('[data-testid="client-secret"]', 's3cr+t/with:%chars&more');
    await s.type('[data-testid="scopes"]', 'openid email');
    await s.click('[data-testid="redirect-loopback"]');
    await s.waitFor('[data-testid="redirect-to-register"]', { text: 'http://127.0.0.1/callback' });
    await shot(s, 'profile-form-dark');
    await s.click('[data-testid="save-and-sign-in"]');
    await s.waitFor('[data-testid="account"][data-account^="conf-op/"][data-status="ok"]', { timeout: 20000 });
    log('loopback sign-in with a confidential client from the GUI');
    await dismissNotices(s);
    await shot(s, 'accounts-two-providers-dark');

    // A response with a wrong `state` at the loopback listener (a stale tab, a forged redirect):
    // refused, said at once in the sign-in screen, and the sign-in still completes.
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'ignore' });
    await clickCentered(s, '[data-testid="profile-group"][data-profile="conf-op"] [data-testid="sign-in"]');
    await s.waitFor('[data-testid="sign-in-screen"] [data-testid="sign-in-timeout"]');
    const authUrl = new URL(await inputValue(s, '#auth-url'));
    const forged = new URL(authUrl.searchParams.get('redirect_uri'));
    forged.search = new URLSearchParams({ code: 'forged', state: 'not-this-sign-in' }).toString();
    const refusedStatus = (await fetch(forged)).status;
    assert(refusedStatus === 400, `the listener refused the wrong state (HTTP ${refusedStatus})`);
    await s.waitFor('[data-testid="sign-in-screen"] [data-testid="sign-in-refused"]', { text: "with a `state` that is not this sign-in's" });
    await s.waitFor('[data-testid="sign-in-refused"]', { text: 'The sign-in is still waiting' });
    execFileSync(path.join(root, 'tests/authserver/browser'), [authUrl.href], { env: { ...process.env, SCRIPTED_BROWSER_ACTION: 'approve' } });
    await s.waitFor('[data-testid="notice-success"]', { text: 'Signed in as', timeout: 20000 });
    await s.waitFor('[data-testid="sign-in-screen"]', { gone: true });
    log('a refused loopback response shown in the sign-in screen; the sign-in completed');
    await dismissNotices(s);

    // A DPoP profile from the GUI (RFC 9449): the form's checkbox, a sign-in whose tokens the
    // provider binds to the account's key, and the details saying so (no "Copy header").
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve' });
    await fillProfileForm(s, false, 'dpop-op', issuer, 'dpop-client', 'openid email offline_access');
    await s.click('[data-testid="redirect-loopback"]');
    await s.click('[data-testid="modern"] summary');
    await s.click('[data-testid="dpop"]');
    await s.click('[data-testid="save-and-sign-in"]');
    await s.waitFor('[data-testid="account"][data-account^="dpop-op/"][data-status="ok"]', { timeout: 20000 });
    await dismissNotices(s);
    await clickCentered(s, '[data-account^="dpop-op/"] [data-testid="details"]');
    await s.waitFor('[data-testid="token-type"]', { text: 'DPoP-bound' });
    await s.click('[data-testid="details-screen"] button.link');
    await s.waitFor('[data-testid="accounts-screen"]');
    log('a DPoP profile added and signed in from the GUI; its account shows DPoP-bound');

    // Readable at the minimum window width.
    const win = execFileSync('xdotool', ['search', '--onlyvisible', '--name', '^Latchkey$'], { encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('xdotool', ['windowsize', '--sync', win, '480', '640']);
    await waitUntil(async () => (await s.exec('return window.innerWidth')) <= 480, 'narrow window', 5000);
    await shot(s, 'accounts-narrow-dark');
    log('dark pass done');
  }, { args: ['latchkey://callback?code=forged&state=forged'], cleanup: () => gtkSettings(null) });
}

/** Sets a form control's value as a user would and fires `change` (selects, fields applied on change). */
async function setValue(s, css, value) {
  await s.waitFor(css);
  await s.exec("const el = document.querySelector(arguments[0]); el.value = arguments[1]; el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true }));", [css, value]);
}

/** Clicks after scrolling the element to the middle of the window, clear of the sticky clipboard bar.
 *  A list may render anew between finding the element and using it (the tray's copy reloads the
 *  accounts): then it is found again. */
async function clickCentered(s, css) {
  const deadline = Date.now() + 15000;
  for (;;) {
    await s.waitFor(css);
    try {
      const found = await s.exec(
        "const el = document.querySelector(arguments[0]); if (el) el.scrollIntoView({ block: 'center' }); return !!el;",
        [css],
      );
      if (found) {
        await s.click(css);
        return;
      }
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`${css} kept going away`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function inputValue(s, css) {
  return s.exec('return document.querySelector(arguments[0])?.value ?? null', [css]);
}

async function introspect(issuer, token) {
  const r = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('m2m:m2m-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  return r.json();
}

/** Provider presets, client credentials and the device flow, from the GUI. */
async function grantsPass(issuer) {
  await inApp('grants-light', { GTK_THEME: 'Adwaita', LATCHKEY_CLIPBOARD_CLEAR_SECS: '30' }, async (s) => {
    log('session started (grants, light)');
    await s.waitFor('[data-testid="accounts-screen"] .footer code'); // the overview has loaded
    // A user preset in the config directory appears next to the built-in ones.
    const configDir = await s.exec("return document.querySelector('.footer code')?.textContent ?? null");
    assert(configDir, 'config dir shown on the accounts screen');
    mkdirSync(path.join(configDir, 'presets'), { recursive: true });
    writeFileSync(path.join(configDir, 'presets', 'acme.toml'), 'title = "Acme SSO"\nissuer = "https://{org}.sso.acme.example"\nscopes = ["openid", "email"]\n[variables.org]\nhelp = "your organisation\'s subdomain"\n');

    // 1. Presets fill the form from the engine's data.
    await s.click('[data-testid="add-profile"]');
    await s.waitFor('[data-testid="profile-form"]');
    await s.waitFor('#preset option[value="acme"]', { text: 'Acme SSO (your preset)' });
    await setValue(s, '[data-testid="preset"]', 'github');
    await s.waitFor('[data-testid="preset-docs"]', { text: 'github.com' });
    await waitUntil(async () => (await inputValue(s, '#tok')) === 'https://github.com/login/oauth/access_token', 'GitHub token endpoint filled', 5000);
    assert((await inputValue(s, '[data-testid="device-endpoint"]')) === 'https://github.com/login/device/code', 'GitHub device endpoint filled');
    assert((await inputValue(s, '[data-testid="profile-name"]')) === 'github', 'profile name from the preset');
    await setValue(s, '[data-testid="preset"]', 'microsoft');
    await s.waitFor('[data-testid="preset-var-tenant"]');
    await waitUntil(async () => (await inputValue(s, '[data-testid="issuer"]')) === 'https://login.microsoftonline.com/common/v2.0', 'Microsoft issuer with the default tenant', 5000);
    await setValue(s, '[data-testid="preset-var-tenant"]', 'contoso.onmicrosoft.com');
    await waitUntil(async () => (await inputValue(s, '[data-testid="issuer"]')) === 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0', 'Microsoft issuer with the tenant', 5000);
    assert((await inputValue(s, '[data-testid="scopes"]')).includes('offline_access'), 'Microsoft scopes');
    await s.waitFor('[data-testid="preset-redirect"]', { text: 'http://127.0.0.1/callback' });
    await setValue(s, '[data-testid="preset"]', 'google');
    await waitUntil(async () => (await s.findAll('[data-testid="auth-params-key"]')).length === 2, 'Google extra authorization parameters', 5000);
    await setValue(s, '[data-testid="preset"]', 'gitlab');
    await setValue(s, '[data-testid="preset-var-base_url"]', 'https://gitlab.example.com');
    await waitUntil(async () => (await inputValue(s, '[data-testid="issuer"]')) === 'https://gitlab.example.com', 'GitLab base URL', 5000);
    await setValue(s, '[data-testid="preset-var-base_url"]', 'http://plain.example');
    await s.waitFor('[data-testid="profile-form"] .error', { text: 'base' });
    await setValue(s, '[data-testid="preset-var-base_url"]', '');
    await setValue(s, '[data-testid="preset"]', 'microsoft');
    await s.waitFor('[data-testid="preset-var-tenant"]');
    await waitUntil(async () => (await inputValue(s, '[data-testid="issuer"]')) === 'https://login.microsoftonline.com/common/v2.0', 'Microsoft preset again', 5000);
    await shot(s, 'profile-form-preset-light');
    log('presets fill the form (GitHub, Microsoft + tenant, Google params, GitLab base URL, user preset listed)');
    await s.click('[data-testid="profile-form"] button.link');
    await s.waitFor('[data-testid="accounts-screen"]');

    // 2. Client credentials: Get token copies a token the server accepts.
    await s.click('[data-testid="add-profile"]');
    await s.waitFor('[data-testid="profile-form"]');
    await s.type('[data-testid="profile-name"]', 'machine');
    await s.type('[data-testid="issuer"]', issuer);
    await s.click('[data-testid="grant-client-credentials"]');
    await s.waitFor('[data-testid="redirect-to-register"]', { gone: true });
    await s.type('[data-testid="client-id"]', 'm2m');
    await s.type('[data-testid="client-secret"]', 'm2m-secret');
    await s.click('details.advanced summary');
    await s.click('[data-testid="token-params-add"]');
    await s.type('[data-testid="token-params-key"]', 'audience');
    await s.type('[data-testid="token-params-value"]', 'https://api.example.test');
    await shot(s, 'profile-form-client-credentials-light');
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-testid="profile-group"][data-profile="machine"] [data-testid="get-token"]');
    const shown = JSON.parse(execFileSync(cliBin, ['profile', 'show', 'machine', '--json'], { encoding: 'utf8', timeout: 20000 }));
    assert(shown.grant === 'client-credentials' && shown.extra_token_params?.audience === 'https://api.example.test', `profile as stored: ${JSON.stringify(shown)}`);
    const before = await stats(issuer);
    await s.click('[data-profile="machine"] [data-testid="get-token"]');
    await s.waitFor('[data-testid="notice-copied"]');
    const token = clipboard().trim();
    assert(token.length > 20 && !/\s/.test(token), 'clipboard holds the client credentials token');
    const info = await introspect(issuer, token);
    assert(info.active === true && info.client_id === 'm2m', `introspection accepts the token: ${JSON.stringify(info)}`);
    const after = await stats(issuer);
    assert((after.token.client_credentials ?? 0) === (before.token.client_credentials ?? 0) + 1, `one client_credentials request (${JSON.stringify(after.token)})`);
    await s.waitFor('[data-testid="account"][data-account="machine/client"][data-status="ok"]');
    const page = await s.exec('return document.body.innerHTML');
    assert(!page.includes(token), 'the token never reaches the webview');
    log('client credentials: token copied, introspection active');
    await dismissNotices(s);
    // Editing keeps the grant and changes the extra parameters.
    await clickCentered(s, '[aria-label="Edit profile machine"]');
    await waitUntil(async () => (await inputValue(s, '[data-testid="token-params-value"]')) === 'https://api.example.test', 'the stored token parameter in the form', 5000);
    assert(await s.exec("return document.querySelector('[data-testid=\"grant-client-credentials\"]').checked && document.querySelector('[data-testid=\"grant-client-credentials\"]').disabled"), 'grant shown, fixed');
    await s.type('[data-testid="token-params-value"]', 'https://api2.example.test');
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-testid="accounts-screen"]');
    const edited = JSON.parse(execFileSync(cliBin, ['profile', 'show', 'machine', '--json'], { encoding: 'utf8', timeout: 20000 }));
    assert(edited.extra_token_params?.audience === 'https://api2.example.test' && edited.grant === 'client-credentials', `edited profile: ${JSON.stringify(edited)}`);
    log('client credentials profile edited: parameters saved, grant kept');
    await dismissNotices(s);

    // 3. Device flow: denied, then approved at the page the app opens through $BROWSER.
    await fillProfileForm(s, false, 'tv', issuer, 'device-app', 'openid email offline_access');
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-profile="tv"] [data-testid="sign-in-device"]');
    await dismissNotices(s);
    browserDoes({ SCRIPTED_BROWSER_DEVICE: 'deny' });
    await s.click('[data-profile="tv"] [data-testid="sign-in-device"]');
    const codeEl = await s.waitFor('[data-testid="user-code"]');
    const code = await s.attr(codeEl, 'data-code');
    assert(code && code.length >= 4, `user code shown (${code})`);
    await s.waitFor('[data-testid="device-status"]', { text: 'Waiting for approval' });
    await shot(s, 'device-code-light');
    await s.click('[data-testid="copy-code"]');
    await waitUntil(() => clipboard().trim() === code, 'user code copied', 5000);
    assert(!clipboard('TARGETS').includes('x-kde-passwordManagerHint'), 'the user code is not marked as secret');
    await s.click('[data-testid="open-page"]');
    await s.waitFor('[data-testid="device-screen"] .error', { text: 'denied', timeout: 40000 });
    await shot(s, 'device-denied-light');
    assert((await s.findAll('[data-account^="tv/"]')).length === 0, 'no account after denial');
    log('device flow: denial shown');
    browserDoes({ SCRIPTED_BROWSER_DEVICE: 'approve' });
    await s.click('[data-testid="device-retry"]');
    await s.waitFor('[data-testid="device-status"]', { text: 'Waiting for approval' });
    await s.click('[data-testid="open-page"]');
    const tvEl = await s.waitFor('[data-testid="account"][data-account^="tv/"][data-status="ok"]', { timeout: 40000 });
    const tvId = await s.attr(tvEl, 'data-account');
    const blog = browserLog();
    assert(/device-approve /.test(blog) && /device-deny /.test(blog), `the scripted browser went through the device pages (${blog.replace(/\n/g, ' | ')})`);
    const tvToken = execFileSync(cliBin, ['token', tvId], { encoding: 'utf8', timeout: 20000 }).trim();
    const ui = await userinfo(issuer, tvToken);
    assert(ui.status === 200 && ui.body?.sub, `userinfo accepts the device flow account's token (${ui.status})`);
    log(`device flow: ${tvId} signed in`);
    await dismissNotices(s);
    await shot(s, 'accounts-grants-light');
  });
}

/** Recursively: does any file under `dir` contain `needle`? */
function onDisk(dir, needle) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() ? onDisk(p, needle) : readFileSync(p).includes(needle)) return true;
  }
  return false;
}

/** The legacy grants, opted in per profile: implicit through the deep link, password in a form. */
async function legacyPass(issuer) {
  await inApp('legacy-light', { GTK_THEME: 'Adwaita', LATCHKEY_CLIPBOARD_CLEAR_SECS: '30' }, async (s) => {
    log('session started (legacy grants, light)');
    await s.waitFor('[data-testid="accounts-screen"] .footer code');
    const configDir = await s.exec("return document.querySelector('.footer code')?.textContent ?? null");

    // 1. The implicit grant: opted in with its warning, then a sign-in whose token comes back
    //    in the fragment of the latchkey:// link.
    await fillProfileForm(s, true, 'old-spa', issuer, 'implicit-app', 'openid email');
    await clickCentered(s, '[data-testid="redirect-deep-link"]');
    await clickCentered(s, '[data-testid="legacy-grants"] summary');
    await s.waitFor('[data-testid="warning-implicit"]', { gone: true });
    await clickCentered(s, '[data-testid="allow-implicit"]');
    await s.waitFor('[data-testid="warning-implicit"]', { text: 'RFC 9700' });
    await shot(s, 'profile-form-legacy-light');
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-profile="old-spa"] [data-testid="legacy-allowed"]', { text: 'implicit' });
    const shown = JSON.parse(execFileSync(cliBin, ['profile', 'show', 'old-spa', '--json'], { encoding: 'utf8', timeout: 20000 }));
    assert(JSON.stringify(shown.allowed_legacy_grants) === '["implicit"]', `stored opt-in: ${JSON.stringify(shown.allowed_legacy_grants)}`);
    assert((await s.findAll('[data-profile="old-spa"] [data-testid="sign-in-password"]')).length === 0, 'no password sign-in without its opt-in');
    await dismissNotices(s);

    // A forged fragment (another state) changes nothing; the sign-in keeps waiting.
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve', SCRIPTED_BROWSER_TAMPER: 'state' });
    await clickCentered(s, '[data-profile="old-spa"] [data-testid="sign-in-implicit"]');
    await s.waitFor('[data-testid="sign-in-screen"] [data-testid="legacy-warning"]', { text: 'RFC 9700' });
    await s.waitFor('[data-testid="notice-rejected"]', { text: 'does not match the sign-in in progress' });
    await s.waitFor('[data-testid="sign-in-screen"] [data-testid="cancel-sign-in"]');
    await shot(s, 'sign-in-implicit-light');
    await clickCentered(s, '[data-testid="cancel-sign-in"]');
    await s.waitFor('[data-testid="accounts-screen"]');
    assert((await s.findAll('[data-account^="old-spa/"]')).length === 0, 'no account after a forged implicit link');
    await dismissNotices(s);

    const before = await stats(issuer);
    browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve' });
    await clickCentered(s, '[data-profile="old-spa"] [data-testid="sign-in-implicit"]');
    const el = await s.waitFor('[data-testid="account"][data-account^="old-spa/"][data-status="ok"]', { timeout: 20000 });
    const spaId = await s.attr(el, 'data-account');
    assert(spaId === 'old-spa/alice@example.test', `the verified id_token names the account (${spaId})`);
    assert(await s.exec(`return document.querySelector('[data-account="${spaId}"] [data-testid="refresh"]').disabled`), 'no refresh token from the implicit grant');
    const after = await stats(issuer);
    assert(JSON.stringify(after.token) === JSON.stringify(before.token), `the implicit grant made no token request (${JSON.stringify(after.token)})`);
    await clickCentered(s, `[data-account="${spaId}"] [data-testid="copy-token"]`);
    await s.waitFor('[data-testid="notice-copied"]');
    const spaToken = clipboard().trim();
    const ui = await userinfo(issuer, spaToken);
    assert(ui.status === 200 && ui.body?.sub === 'alice', `userinfo accepts the implicit token (${ui.status})`);
    log(`implicit grant through the deep link: ${spaId}`);
    await dismissNotices(s);

    // The same grant through the loopback listener's page, which posts the fragment back.
    await fillProfileForm(s, true, 'old-spa-loop', issuer, 'implicit-app', 'openid email');
    await clickCentered(s, '[data-testid="redirect-loopback"]');
    await clickCentered(s, '[data-testid="legacy-grants"] summary');
    await clickCentered(s, '[data-testid="allow-implicit"]');
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-profile="old-spa-loop"] [data-testid="sign-in-implicit"]');
    await dismissNotices(s);
    await clickCentered(s, '[data-profile="old-spa-loop"] [data-testid="sign-in-implicit"]');
    await s.waitFor('[data-testid="account"][data-account="old-spa-loop/alice@example.test"][data-status="ok"]', { timeout: 20000 });
    const loopLog = browserLog();
    assert(/approve fragment http:\/\/127\.0\.0\.1:\d+\/callback 200/.test(loopLog), `the loopback page received the fragment (${loopLog.replace(/\n/g, ' | ')})`);
    log('implicit grant through the loopback page: old-spa-loop/alice@example.test');
    await dismissNotices(s);

    // 2. The password grant: a form, a refused password, then a sign-in; nothing kept.
    await fillProfileForm(s, true, 'old-api', issuer, 'password-app', 'openid email offline_access');
    await clickCentered(s, '[data-testid="legacy-grants"] summary');
    await clickCentered(s, '[data-testid="allow-password"]');
    await s.waitFor('[data-testid="warning-password"]', { text: 'RFC 9700' });
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-profile="old-api"] [data-testid="sign-in-password"]');
    assert((await s.findAll('[data-profile="old-api"] [data-testid="sign-in-implicit"]')).length === 0, 'no implicit sign-in without its opt-in');
    await dismissNotices(s);
    await clickCentered(s, '[data-profile="old-api"] [data-testid="sign-in-password"]');
    await s.waitFor('[data-testid="password-screen"] [data-testid="legacy-warning"]', { text: 'RFC 9700' });
    await s.type('[data-testid="pw-username"]', 'eve');
    await s.type('[data-testid="pw-password"]', 'not-eves-password');
    await clickCentered(s, '[data-testid="pw-submit"]');
    await s.waitFor('[data-testid="password-screen"] [data-testid="provider-error"]', { text: 'invalid_grant' });
    assert((await inputValue(s, '[data-testid="pw-password"]')) === '', 'the password field is emptied after use');
    await shot(s, 'sign-in-password-light');
    await s.type('[data-testid="pw-password"]', 'eve-password');
    await clickCentered(s, '[data-testid="pw-submit"]');
    const pwEl = await s.waitFor('[data-testid="account"][data-account^="old-api/"][data-status="ok"]', { timeout: 20000 });
    const pwId = await s.attr(pwEl, 'data-account');
    assert(pwId === 'old-api/eve@example.test', `password account ${pwId}`);
    const pwToken = execFileSync(cliBin, ['token', pwId], { encoding: 'utf8', timeout: 20000 }).trim();
    const ui2 = await userinfo(issuer, pwToken);
    assert(ui2.status === 200 && ui2.body?.sub === 'eve', `userinfo accepts the password grant's token (${ui2.status})`);
    for (const secret of ['eve-password', 'not-eves-password', pwToken, spaToken]) {
      assert(!onDisk(configDir, secret), 'no password or token in the config directory');
    }
    log(`password grant: ${pwId}; the CLI's token is accepted; no password on disk`);
    await dismissNotices(s);
    await shot(s, 'accounts-legacy-light');
  });
}

/** The new screens in the dark theme. */
async function grantsDarkShots() {
  await inApp('grants-dark', { GTK_THEME: 'Adwaita:dark' }, async (s) => {
    log('session started (grants, dark)');
    await s.waitFor('[data-profile="machine"] [data-testid="get-token"]');
    await waitTheme(s, 'dark');
    await shot(s, 'accounts-grants-dark');
    await clickCentered(s, '[data-testid="add-profile"]');
    await s.waitFor('#preset option[value="gitlab"]');
    await setValue(s, '[data-testid="preset"]', 'gitlab');
    await waitUntil(async () => (await inputValue(s, '[data-testid="issuer"]')) === 'https://gitlab.com', 'GitLab preset', 5000);
    await shot(s, 'profile-form-preset-dark');
    await clickCentered(s, '[data-testid="grant-client-credentials"]');
    await clickCentered(s, 'details.advanced summary');
    await shot(s, 'profile-form-client-credentials-dark');
    await clickCentered(s, '[data-testid="profile-form"] button.link');
    browserDoes({ SCRIPTED_BROWSER_DEVICE: 'approve' });
    await clickCentered(s, '[data-profile="tv"] [data-testid="sign-in-device"]');
    await s.waitFor('[data-testid="device-status"]', { text: 'Waiting for approval' });
    await shot(s, 'device-code-dark');
    await clickCentered(s, '[data-testid="cancel-device"]');
    await s.waitFor('[data-testid="accounts-screen"]');
    log('dark screenshots of the grant screens');
  });
}

/**
 * Profiles shared by URL: a teammate's export (made with the CLI in a config of its own, its
 * client secret then removed from the keychain) served on loopback, imported through the Share
 * screen: a redirect refused, the import, the name conflict as a choice (another name,
 * replace, cancel), and the missing secret on the accounts screen and at sign-in. The save
 * and open dialogs are the system's own, which WebDriver cannot drive: export and import of
 * files are covered by the shell's tests (src-tauri/src/share_tests.rs) and the CLI's.
 */
async function sharePass(issuer) {
  const secret = 'post-secret-123';
  const teammate = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'teammate-config') };
  mkdirSync(teammate.XDG_CONFIG_HOME, { recursive: true, mode: 0o700 });
  const cli = (args, input) => execFileSync(cliBin, args, { encoding: 'utf8', timeout: 20000, env: teammate, input, stdio: ['pipe', 'pipe', 'pipe'] });
  cli(['profile', 'add', 'team-post', '--issuer', issuer, '--client-id', 'conf-post', '--scope', 'openid email offline_access', '--auth-method', 'post', '--client-secret-stdin'], secret);
  const exported = cli(['profile', 'export', 'team-post']);
  assert(!exported.includes(secret), 'the export holds no secret');
  assert(exported.includes('set-secret team-post'), 'the export says a secret is needed');
  cli(['profile', 'remove', 'team-post', '--yes']); // the keychain is this machine's too
  const hits = [];
  const server = createHttpServer((req, res) => {
    hits.push(req.url);
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/team.toml' });
      res.end();
    } else if (req.url === '/team.toml') {
      res.writeHead(200, { 'content-type': 'application/toml' });
      res.end(exported);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;

  await inApp('share', { GTK_THEME: 'Adwaita' }, async (s) => {
    const importUrl = async (url) => {
      await clickCentered(s, '[data-testid="share-profiles"]');
      await s.waitFor('[data-testid="share-screen"]');
      await s.type('[data-testid="import-url"]', url);
      await s.click('[data-testid="import-url-go"]');
    };
    log('session started (share)');
    await s.waitFor('[data-testid="accounts-screen"] .footer code');
    await importUrl(`${base}/moved`);
    await s.waitFor('[data-testid="share-screen"] [data-testid="error-box"]', { text: 'redirects are not followed' });
    assert(!hits.includes('/team.toml'), 'the redirect was not followed');

    await s.type('[data-testid="import-url"]', `${base}/team.toml`);
    await s.click('[data-testid="import-url-go"]');
    await s.waitFor('[data-testid="notice-shared"]', { text: 'Imported team-post' });
    await s.waitFor('[data-testid="imported-needs-secret"]');
    await shot(s, 'share-imported');
    await s.click('[data-testid="share-screen"] .head button');
    await s.waitFor('[data-profile="team-post"] [data-testid="secret-missing"]');
    await dismissNotices(s);
    await s.exec("document.querySelector('[data-profile=\"team-post\"]').scrollIntoView({ block: 'center' })");
    await shot(s, 'accounts-secret-missing');
    const before = browserLog();
    await clickCentered(s, '[data-profile="team-post"] [data-testid="sign-in"]');
    await s.waitFor('.notice [data-testid="error-message"]', { text: 'client secret of profile `team-post` is missing' });
    await s.waitFor('.notice [data-testid="error-action"]', { text: 'Enter the client secret' });
    assert(browserLog() === before, 'no browser opened without the secret');
    await dismissNotices(s);

    // The same file again: the name exists, and the user chooses.
    await importUrl(`${base}/team.toml`);
    await s.waitFor('[data-testid="import-conflict"] [data-testid="conflict-names"]', { text: 'team-post' });
    await shot(s, 'share-conflict');
    await s.click('[data-testid="conflict-rename"]');
    await waitUntil(async () => (await inputValue(s, '[data-testid="rename-input"]')) === 'team-post-2', 'a free name suggested', 5000);
    await s.type('[data-testid="rename-input"]', 'team-post-copy');
    await s.click('[data-testid="conflict-rename-go"]');
    await s.waitFor('[data-testid="notice-shared"]', { text: 'Imported team-post-copy' });
    const copy = JSON.parse(execFileSync(cliBin, ['profile', 'show', 'team-post-copy', '--json'], { encoding: 'utf8', timeout: 20000 }));
    assert(copy.client_id === 'conf-post' && copy.client_secret === 'missing', `imported under another name: ${JSON.stringify(copy)}`);
    await dismissNotices(s);

    await s.click('[data-testid="import-url-go"]');
    await s.waitFor('[data-testid="import-conflict"]');
    await s.click('[data-testid="conflict-cancel"]');
    await s.waitFor('[data-testid="import-conflict"]', { gone: true });
    await s.click('[data-testid="import-url-go"]');
    await s.waitFor('[data-testid="import-conflict"]');
    await s.click('[data-testid="conflict-replace"]');
    await s.waitFor('[data-testid="notice-shared"]', { text: 'Replaced team-post' });
    const listed = execFileSync(cliBin, ['profile', 'list'], { encoding: 'utf8', timeout: 20000 });
    assert(listed.split('\n').filter((l) => l.startsWith('team-post')).length === 2, `two imported profiles: ${listed}`);
    for (const name of ['team-post', 'team-post-copy']) execFileSync(cliBin, ['profile', 'remove', name, '--yes'], { timeout: 20000 });
    log('profiles imported from a loopback URL: redirect refused, conflict choices, secret needed');

    // A company network in the form: a proxy URL with a password is refused and never shown;
    // a proxy and a CA file are saved, and the CLI reads them back from the shared config.
    const ca = path.join(work, 'corp-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=Corp CA', '-days', '1',
      '-keyout', path.join(work, 'corp-ca.key'), '-out', ca], { stdio: 'ignore', timeout: 20000 });
    await dismissNotices(s);
    await s.click('[data-testid="share-screen"] .head button');
    await s.waitFor('[data-testid="accounts-screen"]');
    await fillProfileForm(s, true, 'corp', issuer, 'public-app', 'openid email');
    await clickCentered(s, '[data-testid="network"] summary');
    await s.type('[data-testid="proxy"]', 'http://me:hunter2@proxy.corp.test:3128');
    await s.type('[data-testid="ca-file"]', ca);
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-testid="profile-form"] [data-testid="error-box"]', { text: 'HTTPS_PROXY' });
    const page = await s.exec('return document.body.innerText');
    assert(!page.includes('hunter2'), 'the proxy password is never shown');
    await s.type('[data-testid="proxy"]', 'http://proxy.corp.test:3128');
    await clickCentered(s, '[data-testid="save"]');
    await s.waitFor('[data-profile="corp"]');
    const corp = JSON.parse(execFileSync(cliBin, ['profile', 'show', 'corp', '--json'], { encoding: 'utf8', timeout: 20000 }));
    assert(corp.proxy === 'http://proxy.corp.test:3128/' && corp.ca_file === ca, `proxy and CA saved: ${JSON.stringify(corp)}`);
    execFileSync(cliBin, ['profile', 'remove', 'corp', '--yes'], { timeout: 20000 });
    log('proxy and CA file from the form, a password in the proxy refused');
  }, { cleanup: () => server.close() });
}

// ---- Light or dark: what the page shows, and the desktop's preference driven for real ----

/** WCAG relative luminance of a CSS `rgb()`/`rgba()` colour. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The page's surface (the root's computed background; the body is transparent over it) and
 *  text colours: `want` is 'dark' (surface luminance < 0.05) or 'light' (> 0.8), and the text
 *  reads on it (contrast >= 7:1). Polls: the shell's answer arrives after the first paint. */
async function waitTheme(s, want, timeout = 10000) {
  let seen;
  try {
    await waitUntil(async () => {
      seen = await s.exec("const root = getComputedStyle(document.documentElement); const body = getComputedStyle(document.body); return { theme: document.documentElement.dataset.theme ?? null, surface: root.backgroundColor, body: body.backgroundColor, text: body.color };");
      const l = luminance(seen.surface);
      return want === 'dark' ? l < 0.05 : l > 0.8;
    }, `a ${want} page`, timeout);
  } catch (e) {
    throw new Error(`${e.message}; the page shows ${JSON.stringify(seen)}`);
  }
  assert(/rgba\(0, 0, 0, 0\)|transparent/.test(seen.body) || seen.body === seen.surface, `the body does not cover the surface with another colour (${seen.body})`);
  const [hi, lo] = [luminance(seen.surface), luminance(seen.text)].sort((a, b) => b - a);
  const contrast = (hi + 0.05) / (lo + 0.05);
  assert(contrast >= 7, `text contrast ${contrast.toFixed(1)}:1 on the ${want} surface`);
  log(`page is ${want}: surface ${seen.surface}, text ${seen.text}, contrast ${contrast.toFixed(1)}:1`);
}

/** Writes (or, with null, removes) the sandbox's GTK 3 settings.ini. */
function gtkSettings(lines) {
  const dir = path.join(process.env.XDG_CONFIG_HOME, 'gtk-3.0');
  if (lines === null) return rmSync(path.join(dir, 'settings.ini'), { force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'settings.ini'), `[Settings]\n${lines}\n`);
}

/** GNOME's colour scheme, which xdg-desktop-portal-gtk serves as the portal's `color-scheme`
 *  (GSettings in a key file inside the sandbox). */
function gsettings(scheme) {
  execFileSync('gsettings', ['set', 'org.gnome.desktop.interface', 'color-scheme', scheme], { env: { ...process.env, GSETTINGS_BACKEND: 'keyfile' } });
}

/** Lets the private bus start the real xdg-desktop-portal and its GTK backend on this display
 *  (the first app to ask starts them), with no preference until the portal pass sets one. */
function startPortal() {
  assert(process.env.LATCHKEY_TEST_SANDBOX, 'run inside scripts/with-keyring: this changes the session bus');
  gsettings('default');
  execFileSync('dbus-update-activation-environment', [`DISPLAY=${process.env.DISPLAY}`, 'GSETTINGS_BACKEND=keyfile', 'XDG_CURRENT_DESKTOP=GNOME']);
}

/** The appearance portal wins over the GTK theme, at start and live (SettingChanged). */
async function portalPass() {
  gsettings('prefer-light');
  await inApp('portal', { GTK_THEME: 'Adwaita:dark' }, async (s) => {
    log('session started (appearance portal: prefer light, GTK theme dark)');
    await s.waitFor('[data-testid="accounts-screen"]');
    await waitTheme(s, 'light');
    gsettings('prefer-dark');
    await waitTheme(s, 'dark');
    await shot(s, 'accounts-portal-dark');
    gsettings('prefer-light');
    await waitTheme(s, 'light');
    gsettings('default'); // no preference: the GTK theme decides again
    await waitTheme(s, 'dark');
    log('the portal\'s colour scheme followed live');
  }, { cleanup: () => gsettings('default') });
}

let failed = false;
try {
  await startXvfb();
  startPortal();
  const { issuer } = await startAuthServer();
  await lightPass(issuer);
  await darkPass(issuer);
  await grantsPass(issuer);
  await legacyPass(issuer);
  await grantsDarkShots();
  await trayPass({
    log, assert, waitUntil, clipboard, userinfo, track, waitLine, startDriver, Session, appBin, cliBin, work,
    browserDoes, clickCentered, dismissNotices, shot, instanceRunning, endSession, stop, appDescendants,
  }, issuer);
  await sharePass(issuer);
  await portalPass();
  log('PASS');
} catch (e) {
  failed = true;
  console.error(`[e2e] FAIL: ${e.stack ?? e}`);
} finally {
  for (const c of children.reverse()) await stop(c);
  if (!failed) rmSync(work, { recursive: true, force: true });
  else console.error(`[e2e] kept ${work} (browser.log)`);
}
process.exit(failed ? 1 : 0);
