// Scripted "system browser" for Latchkey's tests. Set $BROWSER to the absolute path of the
// `browser` wrapper beside this file; the CLI runs it as `browser <authorization-url>`.
//
// It drives oidc-provider's devInteractions pages (login, then consent) with fetch, a cookie
// jar and manual redirects, until the server redirects to a URL outside its own origin (the
// client's redirect_uri), then delivers that redirect like a browser would:
//   http://127.0.0.1:<port>/...  -> GET /favicon.ico on that port (stray request), then GET the URL
//   anything else (latchkey://…) -> run `$SCRIPTED_BROWSER_OPENER <url>` (default: xdg-open <url>)
// A loopback redirect whose response is in the fragment (implicit grant) is handed over the way
// the listener's page does it in a real browser: GET the page (the fragment never reaches a
// server), check its CSP and <script src>, GET that script, then POST the fragment to the page's
// path with the page's Origin, as the script does. The logged status is the POST's.
//
// Env:
//   SCRIPTED_BROWSER_LOGIN   login name (default alice); the password is always "x"
//   SCRIPTED_BROWSER_ACTION  approve (default) | deny (abort at consent -> error=access_denied)
//                            | ignore (do nothing, exit 0)
//   SCRIPTED_BROWSER_TAMPER  state -> replace the `state` query parameter of the final redirect
//   SCRIPTED_BROWSER_LOG     file: append one line per run: `<action> <redirect path> <status>`
//                            (status = HTTP status of the loopback answer, or opener exit code)
//   SCRIPTED_BROWSER_OPENER  command used for non-http redirects (default xdg-open)
//   SCRIPTED_BROWSER_TIMEOUT_MS  per-request timeout (default 10000)
//   https_proxy/HTTPS_PROXY, then all_proxy/ALL_PROXY, and no_proxy/NO_PROXY (read as Latchkey
//                            and curl read them): https pages of the issuer go through that
//                            proxy's CONNECT tunnel, like a browser behind a company proxy.
//                            NODE_EXTRA_CA_CERTS adds a test CA, as for any Node program.
//   SCRIPTED_BROWSER_DEVICE  approve | deny: the URL is a device flow verification page
//                            (RFC 8628 verification_uri_complete, `<issuer>/device?user_code=…`):
//                            submit the code, then confirm (log in + consent) or abort it. Logs
//                            `device-<approve|deny> <final path> <status>`.
// Prints nothing to stdout. On anything unexpected: message on stderr, exit 1.
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';

const PROG = 'scripted-browser';
const MAX_STEPS = 20;

function fail(msg) {
  process.stderr.write(`${PROG}: ${msg}\n`);
  // The app starts its browser with stderr closed: the log is where a failure shows.
  if (process.env.SCRIPTED_BROWSER_LOG) appendFileSync(process.env.SCRIPTED_BROWSER_LOG, `failed: ${msg}\n`);
  process.exit(1);
}

function excerpt(text) {
  const flat = String(text).replace(/<style[\s\S]*?<\/style>/gi, '')
    .replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

const [, , startUrl, ...extra] = process.argv;
if (!startUrl || extra.length) fail('usage: browser <authorization-url>');

const login = process.env.SCRIPTED_BROWSER_LOGIN || 'alice';
const action = process.env.SCRIPTED_BROWSER_ACTION || 'approve';
const tamper = process.env.SCRIPTED_BROWSER_TAMPER || '';
const logFile = process.env.SCRIPTED_BROWSER_LOG || '';
const opener = process.env.SCRIPTED_BROWSER_OPENER || 'xdg-open';
const timeoutMs = Number(process.env.SCRIPTED_BROWSER_TIMEOUT_MS || 10000);
const device = process.env.SCRIPTED_BROWSER_DEVICE || '';
if (device && !['approve', 'deny'].includes(device)) fail(`unknown SCRIPTED_BROWSER_DEVICE ${device}`);

if (!['approve', 'deny', 'ignore'].includes(action)) fail(`unknown SCRIPTED_BROWSER_ACTION ${action}`);
if (tamper && tamper !== 'state') fail(`unknown SCRIPTED_BROWSER_TAMPER ${tamper}`);
if (action === 'ignore') process.exit(0);

let authUrl;
try {
  authUrl = new URL(startUrl);
} catch {
  fail(`not a URL: ${startUrl}`);
}
const issuerOrigin = authUrl.origin;

// ---- minimal cookie jar (one host, so name -> value is enough; path is respected loosely) --
const jar = new Map();
function storeCookies(res) {
  for (const sc of res.headers.getSetCookie()) {
    const [pair, ...attrs] = sc.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path = '/';
    let expired = false;
    for (const a of attrs) {
      const [k, v = ''] = a.trim().split('=');
      const key = k.toLowerCase();
      if (key === 'path') path = v || '/';
      if (key === 'max-age' && Number(v) <= 0) expired = true;
      if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
    }
    const id = `${name}\u0000${path}`;
    if (expired || value === '') jar.delete(id);
    else jar.set(id, { name, value, path });
  }
}
function cookieHeader(url) {
  const { pathname } = new URL(url);
  return [...jar.values()]
    .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
    .map((c) => `${c.name}=${c.value}`).join('; ');
}

// ---- an HTTPS proxy, as Latchkey reads it from the environment --------------------------------
const envVar = (...names) => names.map((n) => process.env[n]).find((v) => v && v.trim());
const proxyEnv = envVar('https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY');
const noProxy = (envVar('no_proxy', 'NO_PROXY') || '').toLowerCase().split(/[\s,]+/).filter(Boolean)
  .map((e) => e.replace(/^\./, ''));
function proxyFor(url) {
  if (!proxyEnv || url.protocol !== 'https:') return null;
  const host = url.hostname.toLowerCase();
  if (noProxy.some((e) => e === '*' || host === e || host.endsWith(`.${e}`))) return null;
  return new URL(proxyEnv.includes('://') ? proxyEnv : `http://${proxyEnv}`);
}

// A fetch-like response from node:https through a CONNECT tunnel.
function tunnelled(proxy, url, { method, headers, body }) {
  return new Promise((resolve, reject) => {
    const authority = `${url.hostname}:${url.port || 443}`;
    const connectHeaders = { host: authority };
    if (proxy.username) {
      const pair = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      connectHeaders['proxy-authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
    }
    const connect = http.request({
      host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: authority, headers: connectHeaders,
    });
    connect.setTimeout(timeoutMs, () => connect.destroy(new Error('proxy timeout')));
    connect.on('error', reject);
    connect.on('connect', (answer, socket) => {
      if (answer.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`proxy refused CONNECT ${authority}: ${answer.statusCode}`));
        return;
      }
      const secure = tls.connect({ socket, servername: url.hostname });
      const req = https.request(url, {
        method, headers: { ...headers, host: url.host }, createConnection: () => secure,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const raw = res.headers;
          resolve({
            status: res.statusCode,
            headers: {
              get: (name) => {
                const v = raw[name.toLowerCase()];
                return Array.isArray(v) ? v.join(', ') : (v ?? null);
              },
              getSetCookie: () => raw['set-cookie'] ?? [],
            },
            text: async () => text,
          });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.end(body);
    });
    connect.end();
  });
}

async function send(url, init) {
  const proxy = proxyFor(new URL(url));
  if (proxy) return tunnelled(proxy, new URL(url), init);
  return fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
}

async function request(url, { method = 'GET', form } = {}) {
  const headers = { 'user-agent': 'latchkey-scripted-browser/1', accept: 'text/html' };
  if (new URL(url).origin === issuerOrigin) {
    const c = cookieHeader(url);
    if (c) headers.cookie = c;
  }
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  let res;
  try {
    res = await send(url, { method, headers, body });
  } catch (e) {
    fail(`${method} ${new URL(url).origin}${new URL(url).pathname} failed: ${e.message} (${e.cause?.code ?? e.cause?.message ?? e.name})`);
  }
  if (new URL(url).origin === issuerOrigin) storeCookies(res);
  return res;
}

function location(res, base) {
  const loc = res.headers.get('location');
  if (!loc) fail(`${res.status} without Location from ${base}`);
  return new URL(loc, base).href;
}

async function unexpected(res, url, what) {
  const text = await res.text().catch(() => '');
  fail(`unexpected response while ${what}: HTTP ${res.status} from ${new URL(url).pathname}: ${excerpt(text)}`);
}

// Follow redirects on the issuer until we land on a 200 page (returns {url, res}) or a redirect
// leaves the issuer's origin (returns {final}).
async function follow(url, init) {
  let res = await request(url, init);
  for (let i = 0; i < MAX_STEPS; i += 1) {
    if (res.status >= 300 && res.status < 400) {
      const next = location(res, url);
      if (new URL(next).origin !== issuerOrigin) return { final: next };
      url = next;
      res = await request(url);
      continue;
    }
    if (res.status === 200) return { url, res };
    return unexpected(res, url, 'following redirects');
  }
  return fail('too many redirects');
}

function interactionUid(url) {
  const m = /\/interaction\/([^/?#]+)/.exec(new URL(url).pathname);
  return m?.[1];
}

// Answers one interaction page at `url` (login once, then consent, or abort at the consent
// when `deny`); the next step.
async function interact(uid, html, url, seen, deny = false) {
  const submit = new URL(`/interaction/${uid}`, issuerOrigin).href;
  if (/name="prompt" value="login"/.test(html)) {
    if (seen.login) fail(`login page shown twice: ${excerpt(html)}`);
    seen.login = true;
    return follow(submit, { method: 'POST', form: { prompt: 'login', login, password: 'x' } });
  }
  if (/name="prompt" value="consent"/.test(html)) {
    if (deny) return follow(new URL(`/interaction/${uid}/abort`, issuerOrigin).href);
    return follow(submit, { method: 'POST', form: { prompt: 'consent' } });
  }
  return fail(`unrecognised interaction page at ${new URL(url).pathname}: ${excerpt(html)}`);
}

async function main() {
  let step = await follow(authUrl.href);
  const seen = { login: false };
  for (let i = 0; i < 5 && !step.final; i += 1) {
    const { url, res } = step;
    const html = await res.text();
    const uid = interactionUid(url);
    if (!uid) fail(`expected an interaction page, got HTTP 200 at ${new URL(url).pathname}: ${excerpt(html)}`);
    step = await interact(uid, html, url, seen, action === 'deny');
  }
  if (!step.final) fail('no redirect back to the client after login and consent');

  const target = new URL(step.final);
  const fragment = new URLSearchParams(target.hash.replace(/^#/, ''));
  if (tamper === 'state') {
    if (target.hash) {
      fragment.set('state', `tampered-${fragment.get('state') ?? 'none'}-${Date.now()}`);
      target.hash = fragment.toString();
    } else {
      const old = target.searchParams.get('state');
      target.searchParams.set('state', `tampered-${old ?? 'none'}-${Date.now()}`);
    }
  }
  if (target.hash && target.protocol === 'http:') {
    const status = await handOverFragment(target);
    if (logFile) appendFileSync(logFile, `${action} fragment ${target.protocol}//${target.host}${target.pathname} ${status}\n`);
    return;
  }

  let outcome;
  if (target.protocol === 'http:' || target.protocol === 'https:') {
    // Stray request a real browser would make; its answer does not matter.
    await fetch(new URL('/favicon.ico', target.origin), {
      redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
    }).then((r) => r.arrayBuffer()).catch(() => {});
    let res;
    try {
      res = await fetch(target.href, {
        redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
        headers: { 'user-agent': 'latchkey-scripted-browser/1', accept: 'text/html' },
      });
      await res.arrayBuffer();
    } catch (e) {
      fail(`delivering the redirect to ${target.origin}${target.pathname} failed: ${e.message} (${e.cause?.code ?? e.cause?.message ?? e.name})`);
    }
    outcome = res.status;
  } else {
    const r = spawnSync(opener, [target.href], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.error) fail(`running ${opener}: ${r.error.message}`);
    outcome = r.status;
    if (r.status !== 0) {
      if (logFile) appendFileSync(logFile, `${action} ${target.protocol}//${target.host}${target.pathname} opener-exit=${r.status}\n`);
      fail(`${opener} exited with ${r.status}`);
    }
  }
  if (logFile) {
    appendFileSync(logFile, `${action} ${target.protocol}//${target.host}${target.pathname} ${outcome}\n`);
  }
}

// What the loopback page's script does in a real browser, step by step.
async function handOverFragment(target) {
  const get = async (url) => {
    try {
      return await fetch(url, {
        redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
        headers: { 'user-agent': 'latchkey-scripted-browser/1' },
      });
    } catch (e) {
      return fail(`GET ${new URL(url).pathname} on the loopback listener failed: ${e.message}`);
    }
  };
  const pageUrl = new URL(target.href);
  pageUrl.hash = '';
  const page = await get(pageUrl.href);
  const html = await page.text();
  if (page.status !== 200) fail(`the loopback page answered ${page.status}: ${excerpt(html)}`);
  const csp = page.headers.get('content-security-policy') || '';
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
  if (scriptSrc !== "script-src 'self'") {
    fail(`the loopback page's CSP does not limit scripts to its own origin: ${csp}`);
  }
  const src = /<script src="([^"]+)"><\/script>/.exec(html)?.[1];
  if (!src) fail(`the loopback page loads no script: ${excerpt(html)}`);
  const scriptUrl = new URL(src, pageUrl);
  if (scriptUrl.origin !== pageUrl.origin) fail(`the page's script is not its own: ${scriptUrl.href}`);
  const script = await get(scriptUrl.href);
  const code = await script.text();
  if (script.status !== 200 || !/location\.hash/.test(code) || !/method: 'POST'/.test(code)) {
    fail(`the page's script (HTTP ${script.status}) does not post the fragment back: ${code.slice(0, 200)}`);
  }
  let res;
  try {
    res = await fetch(pageUrl.href, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: pageUrl.origin,
        'user-agent': 'latchkey-scripted-browser/1',
      },
      body: target.hash.replace(/^#/, ''),
    });
    await res.arrayBuffer();
  } catch (e) {
    fail(`posting the fragment to ${pageUrl.pathname} failed: ${e.message}`);
  }
  return res.status;
}

// The hidden inputs of the first form in a page (oidc-provider's device pages).
function hiddenInputs(html) {
  const unescape = (v) => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const fields = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) {
    fields[m[1]] = unescape(m[2]);
  }
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  return { fields, action: action ? unescape(action) : undefined };
}

async function deviceMain() {
  // 1. The verification page with the code filled in auto-submits a form (xsrf + user_code).
  let step = await follow(authUrl.href);
  if (step.final) fail(`device page redirected away to ${new URL(step.final).origin}`);
  let html = await step.res.text();
  let form = hiddenInputs(html);
  if (!form.fields.xsrf || !form.fields.user_code) {
    fail(`no device code form at ${new URL(step.url).pathname}: ${excerpt(html)}`);
  }
  const action = new URL(form.action || '/device', step.url).href;
  // 2. Submitting it shows the confirmation page (Continue / Abort).
  step = await follow(action, { method: 'POST', form: form.fields });
  if (step.final) fail('device code submission redirected away');
  html = await step.res.text();
  form = hiddenInputs(html);
  if (form.fields.confirm !== 'yes') fail(`expected the device confirmation page: ${excerpt(html)}`);
  if (device === 'deny') {
    const { confirm: _c, ...rest } = form.fields;
    step = await follow(action, { method: 'POST', form: { ...rest, abort: 'yes' } });
    html = step.res ? await step.res.text() : '';
    if (!/interrupted/.test(html)) fail(`abort not acknowledged: ${excerpt(html)}`);
    if (logFile) appendFileSync(logFile, `device-deny ${new URL(step.url).pathname} 200\n`);
    return;
  }
  // 3. Confirming starts the usual login + consent interaction, ending on a success page.
  step = await follow(action, { method: 'POST', form: form.fields });
  const seen = { login: false };
  for (let i = 0; i < 5; i += 1) {
    if (step.final) fail(`device interaction redirected away to ${new URL(step.final).origin}`);
    const uid = interactionUid(step.url);
    html = await step.res.text();
    if (!uid) break;
    step = await interact(uid, html, step.url, seen);
  }
  if (!/Sign-in Success/.test(html)) fail(`device sign-in did not succeed: ${excerpt(html)}`);
  if (logFile) appendFileSync(logFile, `device-approve ${new URL(step.url).pathname} 200\n`);
}

if (device) await deviceMain();
else await main();
