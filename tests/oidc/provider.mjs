// A real OpenID provider (panva's certified oidc-provider) for the test suite; provider.py starts it.
// One argument: a JSON config file (port, issuer, jwks, clients, accounts, api_audience).
// Besides the provider's own endpoints it serves the interaction pages a test drives with plain HTTP
// (no JavaScript) and the /_test/ routes that exist only in this harness.

import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

// stdout carries only the READY line (the Python side stops reading after it); notices go to stderr.
console.info = console.error;

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { issuer, api_audience: apiAudience } = config;
// Read live on every findAccount, so POST /_test/accounts/:id changes the next sign-in's claims.
const accounts = new Map(Object.entries(config.accounts));
const backchannelTokens = [];
const ownOrigin = new URL(issuer).origin;

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: config.jwks,
  // Fixed test keys: the cookies only need to survive a restart on the same port, never to be secret.
  cookies: { keys: ['harness-cookie-key-not-a-secret'] },
  async findAccount(ctx, id) {
    if (!accounts.has(id)) return undefined;
    return {
      accountId: id,
      async claims() {
        return { ...accounts.get(id), sub: id };
      },
    };
  },
  scopes: ['openid', 'profile', 'email', 'org', 'offline_access', 'api'],
  claims: {
    // acr and amr (as the login reported them) in every ID token, not only when the client asks for them.
    openid: ['sub', 'acr', 'amr'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    org: ['groups', 'unit'],
  },
  // The claims of the requested scopes go into the ID token itself, not only into userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? apiAudience,
      // Authorization-code logins ask for openid scopes: their access token stays the userinfo one
      // (oidc-provider only uses the granted resource when asked to), client credentials get the JWT.
      useGrantedResource: async () => false,
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        if (resourceIndicator !== apiAudience) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api',
          audience: apiAudience,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // oidc-provider refuses outgoing requests to loopback addresses (SSRF protection, by a dispatcher
  // it adds to the options); the back-channel capture route lives on this very loopback origin.
  fetch: (url, options) => {
    if (new URL(url).origin === ownOrigin) {
      const { dispatcher, ...rest } = options;
      return globalThis.fetch(url, rest);
    }
    return globalThis.fetch(url, options);
  },
});

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  req.on('error', reject);
});

const send = (res, status, type, body) => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
};

const loginForm = (uid) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Account <input name="account" autofocus></label>
<label>acr <input name="acr"></label>
<label>amr (comma separated) <input name="amr"></label>
<button type="submit">Sign in</button>
</form></body></html>`;

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  const { prompt, params, session } = details;
  if (prompt.name === 'login') return send(res, 200, 'text/html; charset=utf-8', loginForm(uid));
  if (prompt.name !== 'consent') return send(res, 400, 'text/plain', `unknown prompt ${prompt.name}`);

  // Consent: grant everything asked for.
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function login(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== 'login') {
    return send(res, 400, 'text/plain', 'no login pending');
  }
  const form = new URLSearchParams(await readBody(req));
  const accountId = form.get('account') ?? '';
  if (!accounts.has(accountId)) return send(res, 400, 'text/plain', 'unknown account');
  const result = { login: { accountId } };
  const acr = form.get('acr');
  if (acr) result.login.acr = acr;
  const amr = (form.get('amr') ?? '').split(',').map((v) => v.trim()).filter(Boolean);
  if (amr.length) result.login.amr = amr;
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

async function testRoute(req, res, path) {
  if (req.method === 'POST' && path.startsWith('/_test/backchannel/')) {
    const token = new URLSearchParams(await readBody(req)).get('logout_token');
    if (!token) return send(res, 400, 'text/plain', 'no logout_token');
    backchannelTokens.push(token);
    return send(res, 200, 'text/plain', '');
  }
  if (req.method === 'GET' && path === '/_test/backchannel') {
    return send(res, 200, 'application/json', JSON.stringify(backchannelTokens.splice(0)));
  }
  const account = path.match(/^\/_test\/accounts\/([^/]+)$/);
  if (req.method === 'POST' && account) {
    const claims = JSON.parse(await readBody(req));
    accounts.set(decodeURIComponent(account[1]), claims);
    return send(res, 204, 'text/plain', '');
  }
  return send(res, 404, 'text/plain', 'not found');
}

const providerCallback = provider.callback();

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  try {
    const login_ = pathname.match(/^\/interaction\/([^/]+)\/login$/);
    const page = pathname.match(/^\/interaction\/([^/]+)$/);
    if (req.method === 'POST' && login_) return await login(req, res, login_[1]);
    if (req.method === 'GET' && page) return await interaction(req, res, page[1]);
    if (pathname.startsWith('/_test/')) return await testRoute(req, res, pathname);
    return providerCallback(req, res);
  } catch (error) {
    process.stderr.write(`${error.stack}\n`);
    if (!res.headersSent) send(res, error.statusCode ?? 500, 'text/plain', String(error.message));
    else res.end();
  }
});

provider.on('server_error', (ctx, error) => process.stderr.write(`server_error: ${error.stack}\n`));
provider.on('backchannel.error', (ctx, error) => process.stderr.write(`backchannel.error: ${error.stack}\n`));

server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${config.port}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
