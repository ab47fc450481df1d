// Test-only MCP server with OAuth, built from the official TypeScript SDK
// (@modelcontextprotocol/sdk): its authorization server routes (`mcpAuthRouter`: RFC 8414
// metadata, /authorize, /token, /register for RFC 7591, /revoke) over an in-memory provider,
// its protected resource metadata (RFC 9728), and `requireBearerAuth` on the MCP endpoint.
//
// Contract:
//   argv[2] or env PORT     port to bind on 127.0.0.1 (default 0: the kernel picks)
//   env LISTEN_HOST         an IPv4 address to bind instead of 127.0.0.1: the host's end of a
//                           test's own veth pair (tests/cli/netns.rs); base URLs use it
//   env ACCESS_TOKEN_TTL    access token lifetime in seconds (default 3600)
//   env MCP_REDIRECT_MATCH  `exact` (default): a redirect_uri must equal a registered one, port
//                           included, as in the SDK's own in-memory provider; `loopback`: any
//                           port of a registered loopback redirect (RFC 8252 §7.3)
//   env MCP_REQUIRE_RESOURCE=1  the MCP endpoint accepts only tokens issued with
//                           resource=<base>/mcp (RFC 8707); without it any live token is accepted
//   env MCP_CHALLENGE_METADATA=0  401s from /mcp carry no resource_metadata parameter
//   env MCP_CIMD=1          client ID metadata documents (the MCP spec's CIMD): the AS metadata
//                           says client_id_metadata_document_supported, and a client id that is
//                           a URL on this server is fetched as its document; base/cimd/client.json
//                           is one, whose redirect_uris are [env MCP_CIMD_REDIRECT]
//   stdout: exactly one line `READY http://<LISTEN_HOST>:<port>` once requests are served;
//           nothing else is ever written to stdout.
//   Exits 0 on SIGTERM/SIGINT.
//
// Endpoints (base = http://<LISTEN_HOST>:<port>):
//   POST base/mcp   streamable HTTP MCP (stateless); tool `whoami` answers the token's client
//                   id, scopes and resource. Without a valid token: 401 with
//                   `WWW-Authenticate: Bearer error="invalid_token", …, resource_metadata="base/.well-known/oauth-protected-resource/mcp"`
//   GET  base/.well-known/oauth-protected-resource/mcp   {"resource":"base/mcp","authorization_servers":["base/"],…}
//   GET  base/.well-known/oauth-authorization-server     the AS metadata (issuer "base/")
//   The AS issues opaque access tokens and rotating refresh tokens; a resource other than
//   base/mcp is refused with invalid_target. Authorization is approved at once (no login page):
//   /authorize answers 302 to redirect_uri?code=…&state=…
//
// Test-only endpoints:
//   GET  base/_test/stats  -> {
//          "registered_clients": n,
//          "clients":   [{"client_id","client_name","redirect_uris","token_endpoint_auth_method","grant_types","scope"}],
//          "authorize": [{"client_id","redirect_uri","resource","scope","status"}],   every request, in order
//          "token":     [{"grant_type","client_id","resource","scope","status"}], every request, in order
//          "refresh":   the entries of "token" whose grant_type is refresh_token,
//          "revocations": n (successful /revoke calls),
//          "mcp": {"ok": n, "unauthorized": n}        answers of /mcp: 2xx, 401
//        }   ("resource" and "scope" are null when the request had none)
//   POST base/_test/reset  -> zeroes the counters and lists (registered clients stay), 204
//   POST base/_test/expire-access-token?token=AT -> that access token expires now (its refresh
//          token stays), 204; 404 when it is unknown
import { randomBytes } from 'node:crypto';

// Everything logged goes to stderr: stdout carries only READY.
const toStderr = (...args) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
const origWarn = console.warn.bind(console);
console.warn = (...args) => {
  // The SDK's notice when LISTEN_HOST needs an http issuer that is not loopback: expected here.
  if (typeof args[0] === 'string' && args[0].startsWith('MCP_DANGEROUSLY_ALLOW_INSECURE_ISSUER_URL')) return;
  origWarn(...args);
};

const listenHost = process.env.LISTEN_HOST || '127.0.0.1';
// The SDK wants an https issuer except on localhost/127.0.0.1 (read when its router loads).
if (listenHost !== '127.0.0.1') process.env.MCP_DANGEROUSLY_ALLOW_INSECURE_ISSUER_URL = '1';
const { default: express } = await import('express');
const { mcpAuthRouter, getOAuthProtectedResourceMetadataUrl } = await import(
  '@modelcontextprotocol/sdk/server/auth/router.js'
);
const { requireBearerAuth } = await import('@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js');
const { InvalidGrantError, InvalidRequestError, InvalidTargetError, InvalidTokenError } = await import(
  '@modelcontextprotocol/sdk/server/auth/errors.js'
);
const { McpServer } = await import('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');

function intSetting(name, raw, dflt) {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535 * 1e6) {
    console.error(`mcp server.mjs: ${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const port = intSetting('PORT', process.argv[2] ?? process.env.PORT, 0);
const accessTokenTtl = intSetting('ACCESS_TOKEN_TTL', process.env.ACCESS_TOKEN_TTL, 3600);
const redirectMatch = process.env.MCP_REDIRECT_MATCH || 'exact';
if (!['exact', 'loopback'].includes(redirectMatch)) {
  console.error(`mcp server.mjs: MCP_REDIRECT_MATCH must be exact or loopback, got ${JSON.stringify(redirectMatch)}`);
  process.exit(2);
}
const requireResource = process.env.MCP_REQUIRE_RESOURCE === '1';

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

const app = express();
let server;
try {
  server = await new Promise((resolve, reject) => {
    const s = app.listen(port, listenHost, (err) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
} catch (e) {
  console.error(`mcp server.mjs: cannot listen on ${listenHost}:${port}: ${e.code ?? e.message}`);
  process.exit(1);
}
const base = `http://${listenHost}:${server.address().port}`;
const issuerUrl = new URL(`${base}/`);
const mcpUrl = new URL(`${base}/mcp`);
const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(mcpUrl);

// ---- test-only records ---------------------------------------------------------------------
function freshStats() {
  return { authorize: [], token: [], revocations: 0, mcp: { ok: 0, unauthorized: 0 } };
}
let stats = freshStats();

// ---- the in-memory authorization server ----------------------------------------------------
const newToken = (prefix) => `${prefix}_${randomBytes(24).toString('base64url')}`;
const clients = new Map(); // client_id -> full client information
const codes = new Map(); // code -> { clientId, params }
const accessTokens = new Map(); // token -> { clientId, scopes, resource, expiresAt (s) }
const refreshTokens = new Map(); // token -> { clientId, scopes, resource }

// The one resource this server is: base/mcp (a trailing slash or fragment aside).
const comparable = (u) => String(u).replace(/#.*$/, '').replace(/\/$/, '');
function checkResource(resource) {
  if (resource && comparable(resource) !== comparable(mcpUrl)) {
    throw new InvalidTargetError(`unknown resource ${resource}; this server is ${mcpUrl.href}`);
  }
}

const cimd = process.env.MCP_CIMD === '1';
const cimdUrl = `${base}/cimd/client.json`;
const clientsStore = {
  async getClient(clientId) {
    // A client ID metadata document: fetched, and taken only when it names itself.
    if (cimd && clientId.startsWith(`${base}/cimd/`)) {
      stats.cimd_fetches = (stats.cimd_fetches ?? 0) + 1;
      const doc = await fetch(clientId).then((r) => (r.ok ? r.json() : null)).catch(() => null);
      return doc && doc.client_id === clientId ? doc : undefined;
    }
    return clients.get(clientId);
  },
  async registerClient(client) {
    clients.set(client.client_id, client);
    return client;
  },
};

function issue(clientId, scopes, resource) {
  const access = newToken('mcp_at');
  const refresh = newToken('mcp_rt');
  const res = resource ? resource.href : undefined;
  accessTokens.set(access, {
    clientId, scopes, resource: res, expiresAt: Math.floor(Date.now() / 1000) + accessTokenTtl,
  });
  refreshTokens.set(refresh, { clientId, scopes, resource: res });
  return {
    access_token: access,
    token_type: 'bearer',
    expires_in: accessTokenTtl,
    refresh_token: refresh,
    ...(scopes.length ? { scope: scopes.join(' ') } : {}),
  };
}

const provider = {
  clientsStore,
  async authorize(client, params, res) {
    // The SDK's handler already let through any port of a registered loopback redirect; the
    // SDK's own in-memory provider (and servers built like it) then want the exact string.
    if (redirectMatch === 'exact' && !client.redirect_uris.includes(params.redirectUri)) {
      throw new InvalidRequestError('Unregistered redirect_uri');
    }
    checkResource(params.resource);
    const code = newToken('mcp_code');
    codes.set(code, { clientId: client.client_id, params });
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(302, target.href);
  },
  async challengeForAuthorizationCode(client, code) {
    const data = codes.get(code);
    if (!data || data.clientId !== client.client_id) throw new InvalidGrantError('unknown authorization code');
    return data.params.codeChallenge;
  },
  async exchangeAuthorizationCode(client, code, _verifier, redirectUri, resource) {
    const data = codes.get(code);
    if (!data || data.clientId !== client.client_id) throw new InvalidGrantError('unknown authorization code');
    codes.delete(code);
    if (redirectUri !== undefined && redirectUri !== data.params.redirectUri) {
      throw new InvalidGrantError('redirect_uri differs from the authorization request');
    }
    checkResource(resource);
    if (resource && data.params.resource && comparable(resource) !== comparable(data.params.resource)) {
      throw new InvalidTargetError('resource differs from the authorization request');
    }
    return issue(client.client_id, data.params.scopes ?? [], resource ?? data.params.resource);
  },
  async exchangeRefreshToken(client, refreshToken, scopes, resource) {
    const data = refreshTokens.get(refreshToken);
    if (!data || data.clientId !== client.client_id) throw new InvalidGrantError('unknown refresh token');
    checkResource(resource);
    if (scopes?.some((s) => !data.scopes.includes(s))) throw new InvalidGrantError('scope wider than granted');
    refreshTokens.delete(refreshToken); // rotation: a refresh token is used once
    const granted = scopes?.length ? scopes : data.scopes;
    return issue(client.client_id, granted, resource ?? (data.resource ? new URL(data.resource) : undefined));
  },
  async verifyAccessToken(token) {
    const data = accessTokens.get(token);
    if (!data) throw new InvalidTokenError('unknown or revoked access token');
    return {
      token, clientId: data.clientId, scopes: data.scopes, expiresAt: data.expiresAt,
      ...(data.resource ? { resource: new URL(data.resource) } : {}),
    };
  },
  async revokeToken(client, { token }) {
    for (const map of [accessTokens, refreshTokens]) {
      const data = map.get(token);
      if (data && data.clientId === client.client_id) map.delete(token);
    }
    stats.revocations += 1;
  },
};

// ---- test-only endpoints, and the records of what clients sent -----------------------------
app.get('/_test/stats', (_req, res) => {
  const registered = [...clients.values()].map((c) => ({
    client_id: c.client_id,
    client_name: c.client_name ?? null,
    redirect_uris: c.redirect_uris,
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? null,
    grant_types: c.grant_types ?? null,
    scope: c.scope ?? null,
  }));
  res.set('cache-control', 'no-store').json({
    registered_clients: registered.length,
    clients: registered,
    ...stats,
    refresh: stats.token.filter((t) => t.grant_type === 'refresh_token'),
  });
});
app.post('/_test/reset', (_req, res) => {
  stats = freshStats();
  res.status(204).end();
});
app.post('/_test/expire-access-token', (req, res) => {
  const data = accessTokens.get(String(req.query.token ?? ''));
  if (data) data.expiresAt = Math.floor(Date.now() / 1000) - 1;
  res.status(data ? 204 : 404).end();
});

// Records every authorization and token request (refused ones too) in stats[kind]: the
// parameters `names` (null where absent or empty) of the query or the form body, and its final
// status. The body is parsed here once; the SDK's own parser then leaves it as it is.
const str = (v) => (typeof v === 'string' && v !== '' ? v : null);
const record = (kind, names) => [express.urlencoded({ extended: false }), (req, res, next) => {
  const p = req.method === 'POST' ? req.body ?? {} : req.query;
  const entry = { ...Object.fromEntries(names.map((n) => [n, str(p[n])])), status: null };
  stats[kind].push(entry);
  res.on('finish', () => { entry.status = res.statusCode; });
  next();
}];
app.use('/authorize', ...record('authorize', ['client_id', 'redirect_uri', 'resource', 'scope']));
app.use('/token', ...record('token', ['grant_type', 'client_id', 'resource', 'scope']));

// CIMD: the document, and the AS metadata that says such documents are accepted.
app.get('/cimd/client.json', (_req, res) => {
  res.json({
    client_id: cimdUrl, client_name: 'Latchkey (CIMD test)',
    redirect_uris: [process.env.MCP_CIMD_REDIRECT ?? 'http://127.0.0.1:1/callback'],
    token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  });
});
app.get('/.well-known/oauth-authorization-server', (_req, res, next) => {
  if (!cimd) return next();
  const json = res.json.bind(res);
  res.json = (body) => json({ ...body, client_id_metadata_document_supported: true });
  next();
});

// The SDK's authorization server. No rate limits: a test run may sign in many times.
app.use(mcpAuthRouter({
  provider,
  issuerUrl,
  resourceServerUrl: mcpUrl,
  resourceName: 'Latchkey test MCP server',
  authorizationOptions: { rateLimit: false },
  tokenOptions: { rateLimit: false },
  clientRegistrationOptions: { rateLimit: false },
  revocationOptions: { rateLimit: false },
}));

// ---- the MCP endpoint (resource server) ----------------------------------------------------
const bearer = requireBearerAuth({
  verifier: provider,
  // MCP_CHALLENGE_METADATA=0: 401s without resource_metadata (clients find the PRM at its
  // well-known path).
  ...(process.env.MCP_CHALLENGE_METADATA === '0' ? {} : { resourceMetadataUrl }),
  ...(requireResource ? { expectedResource: mcpUrl } : {}),
});
app.use('/mcp', (req, res, next) => {
  res.on('finish', () => {
    if (res.statusCode === 401) stats.mcp.unauthorized += 1;
    else if (res.statusCode < 300) stats.mcp.ok += 1;
  });
  next();
}, bearer);

function mcpServer() {
  const mcp = new McpServer({ name: 'latchkey-test-mcp', version: '1.0.0' });
  mcp.registerTool('whoami', { description: 'The client id, scopes and resource of the caller\'s token' },
    async (extra) => ({
      content: [{
        type: 'text',
        text: JSON.stringify({
          client_id: extra.authInfo?.clientId ?? null,
          scopes: extra.authInfo?.scopes ?? [],
          resource: extra.authInfo?.resource?.href ?? null,
        }),
      }],
    }));
  return mcp;
}

app.post('/mcp', express.json(), async (req, res) => {
  const mcp = mcpServer();
  try {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (e) {
    console.error('mcp server.mjs: MCP request failed:', e);
    if (!res.headersSent) {
      res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  }
});
app.all('/mcp', (_req, res) => {
  res.status(405).set('allow', 'POST')
    .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
});

process.stdout.write(`READY ${base}\n`);
