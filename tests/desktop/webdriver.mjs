// A small W3C WebDriver client over fetch (tauri-driver -> WebKitWebDriver). No dependencies.
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {}

export async function wd(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30000),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const v = json.value ?? {};
    throw new WebDriverError(`${method} ${path}: ${res.status} ${v.error ?? ''} ${v.message ?? ''}`.trim());
  }
  return json.value;
}

export class Session {
  static async start(base, application, args = []) {
    const value = await wd(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application, args } } },
    });
    return new Session(base, value.sessionId);
  }

  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  cmd(method, path, body) {
    return wd(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const els = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return els.length ? els[0][ELEMENT] : null;
  }

  async findAll(css) {
    const els = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return els.map((e) => e[ELEMENT]);
  }

  /** Polls until `css` matches (and `pred(text)` holds, when given). Explicit waits only. */
  async waitFor(css, { timeout = 15000, text, gone = false } = {}) {
    const deadline = Date.now() + timeout;
    let last = '';
    for (;;) {
      try {
        const el = await this.find(css);
        if (gone && !el) return null;
        if (!gone && el) {
          if (!text) return el;
          last = await this.text(el);
          if (typeof text === 'string' ? last.includes(text) : text.test(last)) return el;
        }
      } catch (e) {
        if (!(e instanceof WebDriverError)) throw e;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeout} ms waiting for ${gone ? 'absence of ' : ''}${css}${text ? ` with text ${text}` : ''}${last ? ` (last text: ${JSON.stringify(last)})` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async click(css, opts) {
    const el = await this.waitFor(css, opts);
    await this.cmd('POST', `/element/${el}/click`, {});
    return el;
  }

  async type(css, value, { clear = true } = {}) {
    const el = await this.waitFor(css);
    if (clear) await this.cmd('POST', `/element/${el}/clear`, {});
    await this.cmd('POST', `/element/${el}/value`, { text: value });
  }

  text(el) {
    return this.cmd('GET', `/element/${el}/text`);
  }

  attr(el, name) {
    return this.cmd('GET', `/element/${el}/attribute/${name}`);
  }

  exec(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  /** The window was built again (closed to the tray, then opened): its new webview becomes
   *  the current browsing context. The old one's handle is gone with it. */
  async switchToNewWindow(timeout = 10000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        const handles = await this.cmd('GET', '/window/handles');
        if (handles.length > 0) {
          await this.cmd('POST', '/window', { handle: handles[handles.length - 1] });
          await this.cmd('GET', '/url');
          return handles[handles.length - 1];
        }
      } catch (e) {
        if (!(e instanceof WebDriverError)) throw e;
      }
      if (Date.now() > deadline) throw new Error(`no new window within ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async end() {
    await wd(this.base, 'DELETE', `/session/${this.id}`).catch(() => {});
  }
}
