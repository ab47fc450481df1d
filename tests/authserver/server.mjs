// Test-only OpenID Provider for Latchkey's test suite (panva oidc-provider).
//
// Contract:
//   env PORT              port to bind on 127.0.0.1 (default 0: the kernel picks)
//   env ACCESS_TOKEN_TTL  access token lifetime in seconds (default 3600; also used
//                         for client_credentials tokens)
//   env AUTHSERVER_VERBOSE=1  let oidc-provider's notices/warnings through to stderr
//   env TLS_CERT, TLS_KEY PEM files: serve https with them (a certificate from a test CA)
//   env ISSUER            the issuer URL clients use (default: the local URL), e.g.
//                         https://as.test when a CONNECT proxy maps that name to this port
//   stdout: exactly one line `READY http://127.0.0.1:<port>` (https:// with TLS_CERT: the
//           local address, whatever ISSUER says) once requests are served;
//           nothing else is ever written to stdout.
//   Exits 0 on SIGTERM/SIGINT (and when stdin reaches EOF if AUTHSERVER_EXIT_ON_STDIN_EOF=1).
//
// Test-only endpoints:
//   GET  /__test/stats  -> {"token":{"<grant_type>":n,...},"token_errors":n,"revocation":n,
//                           "userinfo":n,"introspection":n,"authorization":n}
//   POST /__test/reset  -> zeroes the counters, answers 204
//   POST /__test/end-access-token?token=AT -> destroys that access token only (its grant and
//                           refresh token stay), 204; 404 when it is unknown
//
// The resource owner password grant (legacy; oidc-provider has none, so it is registered
// below) accepts any username whose password is `<username>-password`, for client
// `password-app`.
import * as http from 'node:http';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';

// Everything oidc-provider (or anything else) logs goes to stderr: stdout carries only READY.
const verbose = process.env.AUTHSERVER_VERBOSE === '1';
const toStderr = (...args) => {
  const first = typeof args[0] === 'string' ? args[0] : '';
  if (!verbose && first.startsWith('oidc-provider ')) return;
  console.error(...args);
};
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
const origWarn = console.warn.bind(console);
console.warn = (...args) => {
  const first = typeof args[0] === 'string' ? args[0] : '';
  if (!verbose && first.startsWith('oidc-provider ')) return;
  origWarn(...args);
};
// Node 20: oidc-provider prints an "Unsupported runtime" warning through the above; also
// silence Node's own experimental warnings unless verbose.
if (!verbose) process.removeAllListeners('warning');

const { default: Provider, errors } = await import('oidc-provider');

function envInt(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`server.mjs: ${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const port = envInt('PORT', 0);
const accessTokenTtl = envInt('ACCESS_TOKEN_TTL', 3600);

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
if (process.env.AUTHSERVER_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

const tls = process.env.TLS_CERT
  ? { cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) }
  : null;
const server = tls ? https.createServer(tls) : http.createServer();
try {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
} catch (e) {
  console.error(`server.mjs: cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message}`);
  process.exit(1);
}
const realPort = server.address().port;
const local = `${tls ? 'https' : 'http'}://127.0.0.1:${realPort}`;
const issuer = process.env.ISSUER || local;

const SCOPE = 'openid email profile offline_access';
const REDIRECT_URIS = ['http://127.0.0.1/callback', 'latchkey://callback'];
const native = { application_type: 'native', scope: SCOPE };

const clients = [
  {
    ...native,
    client_id: 'public-app',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  },
  {
    ...native,
    client_id: 'conf-basic',
    client_secret: 's3cr+t/with:%chars&more',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  },
  {
    ...native,
    client_id: 'conf-post',
    client_secret: 'post-secret-123',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  },
  {
    // The implicit grant (legacy; Latchkey's `login --implicit`). oidc-provider only issues an
    // access token from the authorization endpoint together with an id_token.
    ...native,
    client_id: 'implicit-app',
    token_endpoint_auth_method: 'none',
    grant_types: ['implicit'],
    response_types: ['id_token token'],
    redirect_uris: REDIRECT_URIS,
  },
  {
    // The resource owner password grant (legacy; Latchkey's `login --password`).
    ...native,
    client_id: 'password-app',
    token_endpoint_auth_method: 'none',
    grant_types: ['password', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
  {
    ...native,
    client_id: 'm2m',
    client_secret: 'm2m-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
  {
    ...native,
    client_id: 'device-app',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
];

const configuration = {
  clients,
  // jwks left undefined: oidc-provider's built-in development keys (fast start, test only).
  cookies: { keys: ['latchkey-test-cookie-key-not-secret'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  scopes: ['openid', 'email', 'profile', 'offline_access'],
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.test`,
          email_verified: true,
          preferred_username: id,
          name: `Test User ${id}`,
        };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: {
      enabled: true,
      // Any authenticated client may introspect any token (test server).
      allowedPolicy: async () => true,
    },
    userinfo: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
  },
  // 'id_token token' for the implicit client; the default list has no response type with a token.
  responseTypes: ['code', 'id_token token', 'none'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  // Like Google and Entra, put the profile/email claims in the id_token too (not only userinfo).
  conformIdTokenClaims: false,
  // Default is 15 s of leeway on every expiry check; tests want ACCESS_TOKEN_TTL to be exact.
  clockTolerance: 0,
  ttl: {
    AccessToken: () => accessTokenTtl,
    ClientCredentials: () => accessTokenTtl,
    AuthorizationCode: () => 60,
    DeviceCode: () => 600,
    IdToken: () => 3600,
    RefreshToken: () => 14 * 24 * 60 * 60,
    Interaction: () => 3600,
    Session: () => 14 * 24 * 60 * 60,
    Grant: () => 14 * 24 * 60 * 60,
  },
  // Tests never use CORS; an explicit policy also keeps oidc-provider's notice away.
  clientBasedCORS: () => false,
};

const provider = new Provider(issuer, configuration);
provider.proxy = false;

// RFC 6749 §4.3, built from oidc-provider's own token models so that userinfo, introspection,
// refresh and revocation treat these tokens like any other.
provider.registerGrantType('password', async (ctx) => {
  const { username, password, scope } = ctx.oidc.params;
  if (!username || password !== `${username}-password`) {
    throw new errors.InvalidGrant('wrong username or password');
  }
  const { client } = ctx.oidc;
  const known = new Set(configuration.scopes);
  const scopes = String(scope ?? '').split(' ').filter((s) => known.has(s));
  const granted = scopes.join(' ') || undefined;
  const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
  if (granted) grant.addOIDCScope(granted);
  const grantId = await grant.save();
  const at = new provider.AccessToken({ accountId: username, client, grantId, gty: 'password', scope: granted });
  const body = {
    access_token: await at.save(),
    token_type: 'Bearer',
    expires_in: at.expiration,
    scope: granted,
  };
  if (scopes.includes('offline_access')) {
    const rt = new provider.RefreshToken({ accountId: username, client, grantId, gty: 'password', scope: granted, rotations: 0 });
    body.refresh_token = await rt.save();
  }
  if (scopes.includes('openid')) {
    const account = await configuration.findAccount(ctx, username);
    const idToken = new provider.IdToken({ ...(await account.claims()) }, { ctx });
    idToken.scope = granted;
    body.id_token = await idToken.issue({ use: 'idtoken' });
  }
  ctx.body = body;
}, ['username', 'password', 'scope']);

// ---- test-only counters ----------------------------------------------------------------
function freshStats() {
  return {
    token: {}, token_errors: 0, revocation: 0, userinfo: 0, introspection: 0, authorization: 0,
  };
}
let stats = freshStats();

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/stats' && ctx.method === 'GET') {
    ctx.set('cache-control', 'no-store');
    ctx.type = 'json';
    ctx.body = JSON.stringify(stats);
    return;
  }
  if (ctx.path === '/__test/end-access-token' && ctx.method === 'POST') {
    // Ends one access token early, leaving its grant and refresh token alone (RFC 7009
    // revocation here would end every token of the grant).
    const token = await provider.AccessToken.find(ctx.query.token ?? '');
    if (token) await token.destroy();
    ctx.status = token ? 204 : 404;
    return;
  }
  if (ctx.path === '/__test/reset' && ctx.method === 'POST') {
    stats = freshStats();
    ctx.status = 204;
    return;
  }
  try {
    await next();
  } finally {
    const route = ctx.oidc?.route;
    if (route === 'token' && ctx.method === 'POST') {
      const gt = ctx.oidc?.params?.grant_type ?? ctx.oidc?.body?.grant_type ?? 'unknown';
      const key = String(gt);
      stats.token[key] = (stats.token[key] ?? 0) + 1;
      if (ctx.status >= 400) stats.token_errors += 1;
    } else if (route === 'revocation') {
      stats.revocation += 1;
    } else if (route === 'userinfo') {
      stats.userinfo += 1;
    } else if (route === 'introspection') {
      stats.introspection += 1;
    } else if (route === 'authorization') {
      stats.authorization += 1;
    }
  }
});

if (verbose) {
  for (const ev of ['grant.error', 'server_error', 'authorization.error', 'revocation.error',
    'userinfo.error', 'introspection.error']) {
    provider.on(ev, (...args) => {
      const err = args.find((a) => a instanceof Error);
      console.error(`authserver ${ev}: ${err?.name} ${err?.message} ${err?.error_detail ?? ''}`);
    });
  }
}

server.on('request', provider.callback());
process.stdout.write(`READY ${local}\n`);
