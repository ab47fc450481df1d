// Test-only Kubernetes API stand-in: HTTPS on 127.0.0.1 answering `/api` (what
// `kubectl get --raw /api` asks) only for a bearer token the test authorization server accepts.
//
// Contract:
//   env TLS_KEY, TLS_CERT  PEM files of the server's (self-signed) certificate
//   env ISSUER             the test authorization server (userinfo at ISSUER/me)
//   stdout: one line `READY https://127.0.0.1:<port>`, nothing else.
//   GET /__log (no token needed) -> [{"status":200|401,"path":"..."}...]
import * as https from 'node:https';
import { readFileSync } from 'node:fs';

const issuer = process.env.ISSUER;
const log = [];

const server = https.createServer(
  { key: readFileSync(process.env.TLS_KEY), cert: readFileSync(process.env.TLS_CERT) },
  async (req, res) => {
    const url = new URL(req.url, 'https://x');
    if (url.pathname === '/__log') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(log));
      return;
    }
    const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    let ok = false;
    if (m) {
      const r = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${m[1]}` } });
      await r.arrayBuffer();
      ok = r.status === 200;
    }
    log.push({ status: ok ? 200 : 401, path: url.pathname });
    res.setHeader('content-type', 'application/json');
    if (!ok) {
      res.statusCode = 401;
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 }));
      return;
    }
    if (url.pathname !== '/api') {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    res.end(JSON.stringify({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${server.address().port}` }],
    }));
  },
);

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY https://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
