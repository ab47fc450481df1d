// Test-only OpenID Provider for Latchkey's test suite (panva oidc-provider).
//
// Contract:
//   env PORT              port to bind on 127.0.0.1 (default 0: the kernel picks)
//   env LISTEN_HOST       an IPv4 address to bind instead of 127.0.0.1: the host's end of a test's
//                         own veth pair (tests/cli/netns.rs), for clients inside that namespace
//   env ACCESS_TOKEN_TTL  access token lifetime in seconds (default 3600; also used
//                         for client_credentials tokens)
//   env AUTHSERVER_VERBOSE=1  let oidc-provider's notices/warnings through to stderr
//   env TLS_CERT, TLS_KEY PEM files: serve https with them (a certificate from a test CA)
//   env ISSUER            the issuer URL clients use (default: the local URL), e.g.
//                         https://as.test when a CONNECT proxy maps that name to this port
//   stdout: exactly one line `READY http://127.0.0.1:<port>` (https:// with TLS_CERT: the
//           local address, whatever ISSUER says) once requests are served;
//           nothing else is ever written to stdout.
//   env DPOP_REQUIRE_NONCE  `1` (default): the token, PAR and userinfo endpoints and /resource
//                         answer a DPoP proof without a fresh server nonce with `use_dpop_nonce`
//                         and a `DPoP-Nonce` header; `0`: nonces are offered, not demanded
//   env PKJWT_JWKS_FILE   a JWKS (public keys) file for client `pkjwt-client`; default: the public
//                         halves of tests/keys/rsa-a.pem (RS256) and tests/keys/ec-p256.pem (ES256),
//                         each with kid = its RFC 7638 thumbprint
//   Exits 0 on SIGTERM/SIGINT (and when stdin reaches EOF if AUTHSERVER_EXIT_ON_STDIN_EOF=1).
//
// Features: DPoP (RFC 9449, nonces as above), PAR (RFC 9126, endpoint /request), open dynamic
// client registration (RFC 7591, POST /reg, no initial access token) with registration
// management (RFC 7592: registration_access_token and registration_client_uri /reg/<id>),
// resource indicators (RFC 8707), introspection (/token/introspection), revocation
// (/token/revocation). Clients: see `clients` below; the ones for these features are
// `dpop-client`, `par-client` and `pkjwt-client`.
//
// Resource server on the same port:
//   ANY  /resource        a protected resource. Its resource indicator is `<issuer>/resource`
//                         (RESOURCE below): tokens requested with `resource=<issuer>/resource` are
//                         JWTs (RS256, aud = that URL, scope `api:read` when asked), verified
//                         with the provider's own JWKS; opaque access tokens (issued without a
//                         resource, the userinfo kind) are accepted too, looked up in the provider.
//                         `Authorization: Bearer AT` for unbound tokens; `Authorization: DPoP AT` +
//                         `DPoP: proof` for DPoP-bound ones (cnf.jkt), the proof checked for typ,
//                         signature by its embedded jwk, htm, htu = <issuer>/resource (query and
//                         fragment aside), iat within 300 s, single-use jti, ath, jkt binding and
//                         (with DPOP_REQUIRE_NONCE=1) a nonce this endpoint issued. A DPoP-bound
//                         token sent as Bearer is refused.
//                         200 {"sub","client_id","scope","aud","token_type":"Bearer"|"DPoP","jkt","format":"jwt"|"opaque"}
//                         401 with `WWW-Authenticate: Bearer error="invalid_token"…` or
//                         `DPoP error="invalid_token"|"invalid_dpop_proof"|"use_dpop_nonce"…, algs="…"`
//                         (and a `DPoP-Nonce` header for use_dpop_nonce)
//
// Test-only endpoints:
//   GET  /__test/stats  -> {"token":{"<grant_type>":n,...},"token_errors":n,"revocation":n,
//                           "userinfo":n,"introspection":n,"authorization":n,
//                           "par":n (pushed authorization requests, refused ones too),
//                           "registration":n (POST /reg that registered a client),
//                           "resource":{"ok":n,"refused":n,"errors":["why",...]},
//                           "dpop_nonce_challenges":n (use_dpop_nonce answers, AS and /resource)}
//   POST /__test/reset  -> zeroes the counters, answers 204
//   POST /__test/end-access-token?token=AT -> destroys that access token only (its grant and
//                           refresh token stay), 204; 404 when it is unknown
//
// The resource owner password grant (legacy; oidc-provider has none, so it is registered
// below) accepts any username whose password is `<username>-password`, for client
// `password-app`.
import * as http from 'node:http';
import * as https from 'node:https';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
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
const jose = await import('jose');

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
const dpopRequireNonce = envInt('DPOP_REQUIRE_NONCE', 1) !== 0;
const listenHost = process.env.LISTEN_HOST || '127.0.0.1';

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
    server.listen(port, listenHost, resolve);
  });
} catch (e) {
  console.error(`server.mjs: cannot listen on ${listenHost}:${port}: ${e.code ?? e.message}`);
  process.exit(1);
}
const realPort = server.address().port;
const local = `${tls ? 'https' : 'http'}://${listenHost}:${realPort}`;
const issuer = process.env.ISSUER || local;

const SCOPE = 'openid email profile offline_access';
const REDIRECT_URIS = ['http://127.0.0.1/callback', 'latchkey://callback'];
const native = { application_type: 'native', scope: SCOPE };
// The scope of the resource server at RESOURCE, granted with resource=RESOURCE (a resource
// server's scopes are its own: they are in neither `scopes` below nor the clients' `scope`).
const API_SCOPE = 'api:read';

// pkjwt-client's public keys: a JWKS file, or the public halves of two keys under tests/keys.
async function pkjwtJwks() {
  if (process.env.PKJWT_JWKS_FILE) return JSON.parse(readFileSync(process.env.PKJWT_JWKS_FILE, 'utf8'));
  const keys = [];
  for (const [file, alg] of [['rsa-a.pem', 'RS256'], ['ec-p256.pem', 'ES256']]) {
    const pem = readFileSync(new URL(`../keys/${file}`, import.meta.url));
    const jwk = createPublicKey(pem).export({ format: 'jwk' });
    keys.push({ ...jwk, alg, use: 'sig', kid: await jose.calculateJwkThumbprint(jwk) });
  }
  return { keys };
}

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
  {
    // DPoP (RFC 9449): every token request needs a proof; access and refresh tokens are bound.
    ...native,
    client_id: 'dpop-client',
    token_endpoint_auth_method: 'none',
    dpop_bound_access_tokens: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  },
  {
    // PAR (RFC 9126) required: /auth takes only a request_uri from POST /request.
    ...native,
    client_id: 'par-client',
    token_endpoint_auth_method: 'none',
    require_pushed_authorization_requests: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  },
  {
    // private_key_jwt (RFC 7523): an assertion signed by a key of PKJWT_JWKS_FILE / tests/keys.
    ...native,
    client_id: 'pkjwt-client',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: await pkjwtJwks(),
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  },
];

// The protected resource of /resource, as a resource indicator (RFC 8707).
const RESOURCE = `${issuer}/resource`;

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
    dPoP: {
      enabled: true,
      // Nonces (RFC 9449 §8) need a 32-byte secret; a fresh one per server run.
      nonceSecret: randomBytes(32),
      requireNonce: () => dpopRequireNonce,
    },
    pushedAuthorizationRequests: { enabled: true },
    // Open registration (no initial access token); RFC 7592 management of the registered client.
    registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: true },
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
    resourceIndicators: {
      enabled: true,
      // Only RESOURCE is known; its tokens are JWTs the resource endpoint verifies.
      async getResourceServerInfo(_ctx, resourceIndicator) {
        if (resourceIndicator !== RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: API_SCOPE,
          audience: RESOURCE,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
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
    par: 0, registration: 0, resource: { ok: 0, refused: 0, errors: [] }, dpop_nonce_challenges: 0,
  };
}
let stats = freshStats();

// ---- the resource server at /resource ---------------------------------------------------
const DPOP_ALGS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];
const DPOP_WINDOW = 300; // seconds a proof's iat may be off, and a nonce or jti is kept
const resourceNonces = new Map(); // nonce -> expiry (s)
const seenJtis = new Map(); // jti -> expiry (s)
const nowS = () => Math.floor(Date.now() / 1000);
function prune(map) {
  const now = nowS();
  for (const [k, exp] of map) if (exp < now) map.delete(k);
}
function newResourceNonce() {
  prune(resourceNonces);
  const nonce = randomBytes(24).toString('base64url');
  resourceNonces.set(nonce, nowS() + DPOP_WINDOW);
  return nonce;
}

// The provider's public keys, read once from its own jwks endpoint (loopback; a test TLS
// certificate is not checked on this call to itself).
let localJwks;
async function providerKeys() {
  if (!localJwks) {
    const mod = tls ? https : http;
    const json = await new Promise((resolve, reject) => {
      mod.get(`${local}/jwks`, { rejectUnauthorized: false }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { data += c; });
        res.on('end', () => { try { resolve(JSON.parse(data)); } catch (e) { reject(e); } });
      }).on('error', reject);
    });
    localJwks = jose.createLocalJWKSet(json);
  }
  return localJwks;
}

class Refusal extends Error {
  constructor(scheme, error, description, extra = {}) {
    super(description);
    Object.assign(this, { scheme, error, extra });
  }
}

// What an access token is: a JWT for RESOURCE, or an opaque token the provider holds.
async function accessTokenInfo(token) {
  if (token.split('.').length === 3) {
    try {
      const { payload } = await jose.jwtVerify(token, await providerKeys(), {
        issuer, audience: RESOURCE, typ: 'at+jwt', clockTolerance: 0,
      });
      return {
        format: 'jwt', sub: payload.sub ?? null, client_id: payload.client_id ?? null,
        scope: payload.scope ?? null, aud: payload.aud, jkt: payload.cnf?.jkt ?? null,
      };
    } catch (e) {
      throw new Refusal('Bearer', 'invalid_token', `access token JWT refused: ${e.code ?? e.message}`);
    }
  }
  const at = await provider.AccessToken.find(token);
  if (!at || !at.isValid) throw new Refusal('Bearer', 'invalid_token', 'unknown, expired or revoked access token');
  return {
    format: 'opaque', sub: at.accountId ?? null, client_id: at.clientId, scope: at.scope ?? null,
    aud: at.aud ?? null, jkt: at.jkt ?? null,
  };
}

// RFC 9449 §7: the proof of possession that goes with a DPoP-bound access token.
async function checkDpopProof(ctx, token, jkt) {
  const proofs = ctx.req.headersDistinct?.dpop ?? [];
  if (proofs.length !== 1) throw new Refusal('DPoP', 'invalid_dpop_proof', 'exactly one DPoP header wanted');
  let payload;
  let protectedHeader;
  try {
    ({ payload, protectedHeader } = await jose.jwtVerify(proofs[0], jose.EmbeddedJWK, {
      typ: 'dpop+jwt', algorithms: DPOP_ALGS,
    }));
  } catch (e) {
    throw new Refusal('DPoP', 'invalid_dpop_proof', `DPoP proof refused: ${e.code ?? e.message}`);
  }
  const bad = (why) => new Refusal('DPoP', 'invalid_dpop_proof', why);
  if (typeof payload.jti !== 'string' || !payload.jti) throw bad('DPoP proof without jti');
  if (typeof payload.iat !== 'number' || Math.abs(nowS() - payload.iat) > DPOP_WINDOW) throw bad('DPoP proof iat not recent');
  if (payload.htm !== ctx.method) throw bad('DPoP proof htm mismatch');
  const htu = URL.parse(typeof payload.htu === 'string' ? payload.htu : '');
  if (htu) { htu.search = ''; htu.hash = ''; }
  if (!htu || htu.href !== new URL(RESOURCE).href) throw bad('DPoP proof htu mismatch');
  const ath = createHash('sha256').update(token).digest('base64url');
  if (payload.ath !== ath) throw bad('DPoP proof ath mismatch');
  if (await jose.calculateJwkThumbprint(protectedHeader.jwk) !== jkt) throw bad('DPoP proof key is not the token\'s (jkt)');
  if (dpopRequireNonce) {
    const known = typeof payload.nonce === 'string' && (resourceNonces.get(payload.nonce) ?? 0) >= nowS();
    if (!known) {
      throw new Refusal('DPoP', 'use_dpop_nonce', 'Resource server requires nonce in DPoP proof', { nonce: newResourceNonce() });
    }
  }
  prune(seenJtis);
  if (seenJtis.has(payload.jti)) throw bad('DPoP proof jti replayed');
  seenJtis.set(payload.jti, nowS() + DPOP_WINDOW);
}

async function serveResource(ctx) {
  ctx.set('cache-control', 'no-store');
  try {
    const m = /^(Bearer|DPoP) ([A-Za-z0-9\-._~+/]+=*)$/i.exec(ctx.get('authorization'));
    if (!m) throw new Refusal('Bearer', 'invalid_token', 'no Bearer or DPoP access token');
    const scheme = m[1].toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const token = m[2];
    const info = await accessTokenInfo(token);
    if (info.jkt && scheme !== 'DPoP') {
      throw new Refusal('DPoP', 'invalid_token', 'DPoP-bound access token sent as Bearer');
    }
    if (!info.jkt && scheme === 'DPoP') {
      throw new Refusal('DPoP', 'invalid_token', 'access token is not DPoP-bound');
    }
    if (info.jkt) await checkDpopProof(ctx, token, info.jkt);
    stats.resource.ok += 1;
    ctx.type = 'json';
    ctx.body = JSON.stringify({ ...info, token_type: scheme });
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    stats.resource.refused += 1;
    stats.resource.errors.push(`${e.error}: ${e.message}`);
    const desc = e.message.replace(/["\\]/g, "'");
    let challenge = `${e.scheme} error="${e.error}", error_description="${desc}"`;
    if (e.scheme === 'DPoP') challenge += `, algs="${DPOP_ALGS.join(' ')}"`;
    if (e.error === 'use_dpop_nonce') {
      stats.dpop_nonce_challenges += 1;
      ctx.set('dpop-nonce', e.extra.nonce);
    }
    ctx.set('www-authenticate', challenge);
    ctx.status = 401;
    ctx.type = 'json';
    ctx.body = JSON.stringify({ error: e.error, error_description: e.message });
  }
}

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
  if (ctx.path === '/resource') {
    await serveResource(ctx);
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
    } else if (route === 'pushed_authorization_request') {
      stats.par += 1;
    } else if (route === 'registration' && ctx.status === 201) {
      stats.registration += 1;
    }
    if (route && ctx.body?.error === 'use_dpop_nonce') stats.dpop_nonce_challenges += 1;
  }
});

if (verbose) {
  for (const ev of ['grant.error', 'server_error', 'authorization.error', 'revocation.error',
    'userinfo.error', 'introspection.error', 'pushed_authorization_request.error',
    'registration_create.error']) {
    provider.on(ev, (...args) => {
      const err = args.find((a) => a instanceof Error);
      console.error(`authserver ${ev}: ${err?.name} ${err?.message} ${err?.error_detail ?? ''}`);
    });
  }
}

server.on('request', provider.callback());
process.stdout.write(`READY ${local}\n`);
