// The tray in the desktop E2E: the real AppIndicator menu, clicked over its real dbusmenu
// export (sni.py stands in for the desktop shell's StatusNotifierWatcher and notification
// server only), copy from the tray, closing the window, start at login, quitting.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sni = path.join(here, 'sni.py');

/** The WebKit processes (web, network) `pid` started, by name. */
function webkitChildren(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const exe = path.basename(readlinkSync(`/proc/${d}/exe`));
      if (parent === pid && exe.startsWith('WebKit')) out.push(exe);
    } catch {}
  }
  return out;
}

/** PSS of `pids` summed, in MB (smaps_rollup). */
function pss(pids) {
  let kb = 0;
  for (const p of pids) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))[1]);
    } catch {}
  }
  return Math.round(kb / 1024);
}

/** `t`: the harness's helpers (see e2e.mjs). */
export async function trayPass(t, issuer) {
  const { log, assert, waitUntil, clipboard, userinfo } = t;
  const dir = t.work;
  const shell = t.track(spawn('/usr/bin/python3', [sni, 'serve', dir], { stdio: ['ignore', 'pipe', 'pipe'] }), 'tray watcher');
  await t.waitLine(shell, /READY/, 'tray watcher');
  const py = (...args) => execFileSync('/usr/bin/python3', [sni, ...args], { encoding: 'utf8', timeout: 10000 });
  const menu = () => JSON.parse(py('menu', dir));
  const notes = () => (existsSync(path.join(dir, 'notifications.jsonl'))
    ? readFileSync(path.join(dir, 'notifications.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : []);
  const { driver, base } = await t.startDriver({ GTK_THEME: 'Adwaita', LATCHKEY_CLIPBOARD_CLEAR_SECS: '20' });
  const s = await t.Session.start(base, t.appBin);
  let quit = false;
  try {
    log('session started (tray)');
    await s.waitFor('[data-testid="profile-group"][data-profile="test-op"]');
    t.browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve' });
    await t.clickCentered(s, '[data-profile="test-op"] [data-testid="sign-in"]');
    // An earlier pass may have left test-op's account in place: the sign-in is done when it
    // says so (it then revokes the grant it replaced, whose token the tray must not copy).
    await s.waitFor('[data-testid="notice-success"]', { text: 'Signed in as', timeout: 20000 });
    const el = await s.waitFor('[data-testid="account"][data-account^="test-op/"][data-status="ok"]', { timeout: 20000 });
    const account = await s.attr(el, 'data-account');
    await t.dismissNotices(s);

    // 1. The icon registered with the watcher; its menu lists the account with its status.
    await waitUntil(() => existsSync(path.join(dir, 'items')), 'the tray icon to register', 10000);
    await waitUntil(() => menu().some((i) => i.label === `${account} — valid`), `the tray menu to list ${account}`, 10000);
    const labels = menu().map((i) => i.label);
    assert(labels.includes('Open Latchkey') && labels.includes('Quit'), `tray menu: ${JSON.stringify(labels)}`);
    log(`tray menu: ${labels.join(' | ')}`);

    // 2. Clicking the account copies a live token, marked as secret, and the history notes the tray.
    execFileSync('sh', ['-c', 'printf before | xclip -selection clipboard -i >/dev/null 2>&1']);
    py('click', dir, `${account} — `);
    await waitUntil(() => clipboard() !== 'before' && clipboard().trim().length > 20, 'the tray copy on the clipboard', 10000);
    const token = clipboard().trim();
    const ui = await userinfo(issuer, token);
    assert(ui.status === 200 && ui.body?.sub, `userinfo accepts the tray's token (${ui.status})`);
    assert(clipboard('TARGETS').includes('x-kde-passwordManagerHint'), 'the tray copy is marked as secret');
    await s.waitFor('[data-testid="clipboard-status"]', { text: /cleared in \d+ s/ });
    const history = JSON.parse(execFileSync(t.cliBin, ['history', '--json', '--account', account], { encoding: 'utf8', timeout: 20000 }));
    const last = history[history.length - 1];
    assert(last?.how === 'copy' && last.from === 'tray' && last.via === 'tray', `history notes the tray copy: ${JSON.stringify(last)}`);
    assert(!JSON.stringify(history).includes(token), 'no token in the history');
    log('tray copy: live token on the clipboard (userinfo), concealed, history "copy" from the tray');

    // 3. The account's details show its history, newest first.
    await t.clickCentered(s, `[data-account="${account}"] [data-testid="details"]`);
    await s.waitFor('[data-testid="history-entry"][data-from="tray"]');
    const first = await s.exec("return document.querySelector('[data-testid=\"history-entry\"]').dataset.from");
    assert(first === 'tray', `the newest entry comes first (${first})`);
    await t.dismissNotices(s);
    await s.exec("document.querySelector('[data-testid=\"history\"]').scrollIntoView({ block: 'center' })");
    await t.shot(s, 'details-history-light');
    await t.clickCentered(s, '[data-testid="details-screen"] button.link');

    // 4. Start at login writes and removes the autostart entry, and shows what is on disk.
    const entry = path.join(process.env.XDG_CONFIG_HOME, 'autostart', 'latchkey.desktop');
    await s.waitFor('[data-testid="start-at-login"]:not([disabled])');
    assert(!existsSync(entry), 'no autostart entry at first');
    await t.clickCentered(s, '[data-testid="start-at-login"]');
    await waitUntil(() => existsSync(entry), 'the autostart entry', 5000);
    const text = readFileSync(entry, 'utf8');
    assert(text.includes(`Exec=${t.appBin} --hidden`), `the entry starts the app in the tray: ${text}`);
    execFileSync('desktop-file-validate', [entry], { encoding: 'utf8' });
    assert(await s.exec("return document.querySelector('[data-testid=\"start-at-login\"]').checked"), 'the box shows it on');
    await t.clickCentered(s, '[data-testid="start-at-login"]');
    await waitUntil(() => !existsSync(entry), 'the autostart entry removed', 5000);
    log('start at login: entry written under XDG_CONFIG_HOME and removed');

    // 5. Closing the window leaves the app in the tray, answering the CLI; it says so once. The
    //    window and its webview are destroyed: WebKit's web process ends (its network process
    //    too, but not under WebDriver: WebKit would end the session with it; scripts/bench-desktop
    //    checks that one). Opened again (the tray, a second launch), the window comes back on the
    //    screen it showed.
    const windowId = () => execFileSync('xdotool', ['search', '--onlyvisible', '--name', '^Latchkey$'], { encoding: 'utf8' }).trim().split('\n').pop();
    const visible = () => { try { return windowId() !== ''; } catch { return false; } };
    const [app] = t.appDescendants(driver.pid);
    assert(app, 'the app process under the driver');
    const webkit = () => webkitChildren(app).filter((n) => n !== 'WebKitNetworkProcess');
    assert(webkit().length >= 1, `WebKit's web process runs with the window: ${JSON.stringify(webkitChildren(app))}`);
    await t.clickCentered(s, `[data-account="${account}"] [data-testid="details"]`);
    await s.waitFor('[data-testid="details-screen"]');
    py('close', windowId());
    await waitUntil(() => !visible(), 'the window closed', 5000);
    await waitUntil(() => webkit().length === 0, "WebKit's web process to end with the window", 15000);
    await new Promise((r) => setTimeout(r, 1000));
    log(`closed window: WebKit's web process ended (${JSON.stringify(webkitChildren(app))} left); the app: ${pss([app])} MB PSS`);
    assert(t.instanceRunning(), 'the app still runs after its window closed');
    execFileSync(t.cliBin, ['agent', 'status'], { encoding: 'utf8', timeout: 20000 });
    const cliToken = execFileSync(t.cliBin, ['token', account], { encoding: 'utf8', timeout: 20000 }).trim();
    assert((await userinfo(issuer, cliToken)).status === 200, 'the CLI token from the app in the tray works');
    await waitUntil(() => notes().some((n) => n.summary === 'Latchkey is still running'), 'the "still running" notification', 5000);
    py('click', dir, 'Open Latchkey');
    await waitUntil(() => visible(), 'the window shown again from the tray', 10000);
    await s.switchToNewWindow();
    await s.waitFor(`[data-testid="details-screen"]`, { text: account });
    assert(webkit().length >= 1, `WebKit's web process back with the window: ${JSON.stringify(webkitChildren(app))}`);
    log('opened from the tray: a new webview, on the details of the account it showed');
    await t.clickCentered(s, '[data-testid="details-screen"] button.link');
    await s.waitFor('[data-testid="account"]');
    py('close', windowId());
    await waitUntil(() => !visible(), 'the window closed again', 5000);
    await waitUntil(() => webkit().length === 0, "WebKit's web process to end again", 15000);
    await new Promise((r) => setTimeout(r, 1000));
    assert(notes().filter((n) => n.summary === 'Latchkey is still running').length === 1, 'said once only');
    log('closed window: app in the tray, socket answering, said once');

    // 6. invalid_grant: the provider revokes the grant; the app's refresh meets invalid_grant,
    //    the notification offers the sign-in, and activating it opens the sign-in. The window
    //    comes back through a second launch (the single-instance plugin), on the accounts.
    execFileSync(t.appBin, [], { timeout: 20000, stdio: 'ignore' });
    await waitUntil(() => visible(), 'the window shown by a second launch', 10000);
    await s.switchToNewWindow();
    await s.waitFor('[data-testid="account"]');
    assert(await s.find('[data-testid="details-screen"]') === null, 'the accounts, as the window showed last');
    await t.clickCentered(s, `[data-account="${account}"] [data-testid="details"]`);
    await t.clickCentered(s, '[data-testid="copy-refresh"]');
    await s.click('[data-testid="confirm-ok"]');
    await waitUntil(() => clipboard().trim() !== token && clipboard().trim().length > 10, 'the refresh token copied', 5000);
    const refreshToken = clipboard().trim();
    const revoked = await fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: 'public-app' }),
    });
    assert(revoked.ok, `the provider revoked the grant (${revoked.status})`);
    execFileSync('sh', ['-c', 'printf gone | xclip -selection clipboard -i >/dev/null 2>&1']);
    await t.clickCentered(s, '[data-testid="details-screen"] button.link');
    await t.clickCentered(s, `[data-account="${account}"] [data-testid="refresh"]`);
    await waitUntil(() => notes().some((n) => n.summary === `${account} needs a new sign-in`), 'the invalid_grant notification', 10000);
    const note = notes().find((n) => n.summary === `${account} needs a new sign-in`);
    assert(note.actions.includes('default') && note.actions.includes('sign-in'), `the notification offers the sign-in: ${JSON.stringify(note)}`);
    await waitUntil(() => menu().some((i) => i.label === `${account} — needs sign-in`), 'the tray menu to say needs sign-in', 10000);
    t.browserDoes({ SCRIPTED_BROWSER_ACTION: 'ignore' });
    py('invoke', String(note.id), 'default');
    await s.waitFor('[data-testid="sign-in-screen"]', { timeout: 10000 });
    await s.click('[data-testid="cancel-sign-in"]');
    log('invalid_grant: notification with a sign-in action, which opens the sign-in; tray says needs sign-in');

    // 7. The account's own "Sign in again" signs in as that account (its label goes with the
    //    sign-in), then quit from the tray really quits, and leaves no token on the clipboard.
    t.browserDoes({ SCRIPTED_BROWSER_ACTION: 'approve' });
    const profileAccounts = async () => (await s.findAll('[data-testid="account"][data-account^="test-op/"]')).length;
    const before = await profileAccounts();
    await t.clickCentered(s, `[data-account="${account}"] [data-testid="sign-in-again"]`);
    await s.waitFor(`[data-account="${account}"][data-status="ok"]`, { timeout: 20000 });
    assert(await profileAccounts() === before, 'the same account healed, no second one');
    await waitUntil(() => menu().some((i) => i.label === `${account} — valid`), 'the tray menu to say valid again', 10000);
    py('click', dir, `${account} — `);
    await waitUntil(() => clipboard() !== 'gone' && clipboard().trim().length > 20, 'a second tray copy', 10000);
    py('click', dir, 'Quit');
    await waitUntil(() => !t.instanceRunning(), 'the app to quit from the tray', 10000);
    quit = true;
    assert(clipboard().trim() === '', 'quitting cleared the token from the clipboard');
    log('Quit from the tray: the app exited and cleared the clipboard');
  } catch (e) {
    await t.shot(s, 'failure-tray').catch(() => {});
    throw e;
  } finally {
    if (!quit) await t.endSession(s, driver);
    else await s.end();
    await t.stop(driver);
    await t.stop(shell);
  }
}
