// A real OpenID Provider (panva/oidc-provider) on 127.0.0.1 for apprun's OAuth/OIDC tests.
// Started by apprun/testing/oidc.py; prints {"issuer": "..."} on stdout once it listens.
//
// Besides the provider itself (discovery, JWKS, /auth with the development login and consent
// pages, /token, /me, dynamic client registration at /reg), it serves a few test controls:
//   PUT /__test/accounts/<id>   the claims of an account (email, email_verified, name, ...)
//   PUT /__test/tamper          {"mode": ...}: how to spoil the ID token of the next /token answer
//                               (wrong_iss, wrong_aud, bad_nonce, expired, unknown_kid,
//                               bad_signature, no_id_token), as a misbehaving provider would
//   GET /gh/user, /gh/user/emails   GitHub's user API shape, answered for the provider's own
//                               access tokens, so the github preset runs against a real OAuth 2.0
//                               authorization server (paths /login/oauth/* map to /auth, /token)
import { createServer } from 'node:http';

import { exportJWK, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const accounts = new Map();
let tamper = null;

const signing = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(signing.privateKey)), kid: 'op-key-1', alg: 'RS256', use: 'sig' };
const stranger = await generateKeyPair('RS256', { extractable: true });

function claimsOf(id) {
  return { sub: id, ...(accounts.get(id) ?? {}) };
}

async function spoil(idToken, mode, issuer) {
  if (mode === 'bad_signature') {
    const [header, payload, signature] = idToken.split('.');
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    return `${header}.${payload}.${flipped}`;
  }
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = signing.privateKey;
  let kid = header.kid;
  if (mode === 'wrong_iss') claims.iss = `${issuer}/evil`;
  else if (mode === 'wrong_aud') claims.aud = 'somebody-else';
  else if (mode === 'bad_nonce') claims.nonce = 'not-the-nonce-that-was-sent';
  else if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  else if (mode === 'unknown_kid') { key = stranger.privateKey; kid = 'not-in-the-jwks'; }
  else throw new Error(`unknown tamper mode ${mode}`);
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg, kid, typ: header.typ }).sign(key);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingJwk] },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    revocation: { enabled: true },
  },
  scopes: ['openid', 'offline_access', 'read:user', 'user:email'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'picture', 'preferred_username'],
  },
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => claimsOf(id) }),
  cookies: { keys: ['apprun-test-cookie-key'] },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  renderError: async (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
});

provider.use(async (ctx, next) => {
  const control = ctx.path.match(/^\/__test\/accounts\/([^/]+)$/);
  if (control && ctx.method === 'PUT') {
    accounts.set(decodeURIComponent(control[1]), await readJson(ctx.req));
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/__test/tamper' && ctx.method === 'PUT') {
    tamper = (await readJson(ctx.req)).mode ?? null;
    ctx.status = 204;
    return;
  }
  if (ctx.path.startsWith('/gh/user')) {
    await githubApi(ctx);
    return;
  }
  if (ctx.path === '/login/oauth/authorize') ctx.path = '/auth';
  if (ctx.path === '/login/oauth/access_token') ctx.path = '/token';
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && tamper !== null && ctx.body?.id_token) {
    const mode = tamper;
    tamper = null;
    const body = { ...ctx.body };
    if (mode === 'no_id_token') delete body.id_token;
    else body.id_token = await spoil(body.id_token, mode, issuer);
    ctx.body = body;
  }
});

async function githubApi(ctx) {
  const token = (ctx.get('authorization') || '').replace(/^(bearer|token) /i, '');
  const access = token ? await provider.AccessToken.find(token) : undefined;
  if (!access) {
    ctx.status = 401;
    ctx.body = { message: 'Bad credentials' };
    return;
  }
  const claims = claimsOf(access.accountId);
  if (ctx.path === '/gh/user') {
    ctx.body = {
      id: Number.parseInt(claims.github_id ?? '1', 10),
      login: claims.preferred_username ?? access.accountId,
      name: claims.name ?? null,
      email: claims.public_email ?? null,
      avatar_url: claims.picture ?? null,
    };
  } else {
    ctx.body = claims.email
      ? [{ email: claims.email, primary: true, verified: Boolean(claims.email_verified), visibility: 'private' }]
      : [];
  }
}

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
