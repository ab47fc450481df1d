// Test-only git server: `git http-backend` (CGI) behind a check that the request's token is one
// the test authorization server accepts (its userinfo endpoint answers 200 for it).
//
// Contract:
//   env GIT_PROJECT_ROOT   directory of the bare repositories to serve
//   env ISSUER             the test authorization server (userinfo at ISSUER/me)
//   env CHALLENGE          `basic` (default) or `bearer`: the WWW-Authenticate scheme of a 401
//   stdout: one line `READY http://127.0.0.1:<port>`, nothing else.
//   GET /__log -> [{"scheme":"Basic"|"Bearer"|null,"status":200|401,"path":"..."}...]
import * as http from 'node:http';
import { spawn } from 'node:child_process';

const root = process.env.GIT_PROJECT_ROOT;
const issuer = process.env.ISSUER;
const challenge = process.env.CHALLENGE === 'bearer' ? 'Bearer realm="latchkey-test"' : 'Basic realm="latchkey-test"';
const log = [];

async function accepted(header) {
  const m = /^(Basic|Bearer) (.+)$/.exec(header || '');
  if (!m) return { scheme: null, ok: false };
  let token = m[2];
  if (m[1] === 'Basic') {
    const decoded = Buffer.from(token, 'base64').toString();
    token = decoded.slice(decoded.indexOf(':') + 1);
  }
  const r = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  return { scheme: m[1], ok: r.status === 200 };
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/__log') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(log));
    return;
  }
  const { scheme, ok } = await accepted(req.headers.authorization);
  log.push({ scheme, status: ok ? 200 : 401, path: url.pathname });
  if (!ok) {
    req.resume();
    res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'text/plain' });
    res.end('token required\n');
    return;
  }
  const cgi = spawn('git', ['http-backend'], {
    env: {
      ...process.env,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method,
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] || '',
      REMOTE_USER: 'test',
      REMOTE_ADDR: '127.0.0.1',
      GIT_CONFIG_NOSYSTEM: '1',
    },
  });
  // http-backend reads the (decoded) body to EOF; node has already undone any chunking.
  req.pipe(cgi.stdin);
  const out = [];
  cgi.stdout.on('data', (d) => out.push(d));
  cgi.stderr.on('data', (d) => process.stderr.write(d));
  cgi.on('close', () => {
    const all = Buffer.concat(out);
    const end = all.indexOf('\r\n\r\n') >= 0 ? all.indexOf('\r\n\r\n') : all.indexOf('\n\n');
    const sep = all.indexOf('\r\n\r\n') >= 0 ? 4 : 2;
    const head = all.subarray(0, end).toString();
    let status = 200;
    const headers = {};
    for (const line of head.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') status = parseInt(v, 10);
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    res.end(all.subarray(end + sep));
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
