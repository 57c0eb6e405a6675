// Latchkey's interop peer: the OpenID Certified `oidc-provider` (pinned in package-lock.json)
// with ONE public native client and a minimal login/consent UI of our own (stable element ids,
// a real password check, no remote fonts). Started by tests/it/interop_oidc_provider.rs.
//
// Environment (all optional):
//   INTEROP_PORT            port to bind on 127.0.0.1 (0 or unset: an ephemeral port)
//   INTEROP_CLIENT_ID       the native client's id                      (latchkey-interop)
//   INTEROP_USERNAME        the one test user's login name              (alice)
//   INTEROP_PASSWORD        its password                                (correct horse battery staple)
//   INTEROP_TTL_ACCESS      access token lifetime, seconds              (60)
//   INTEROP_TTL_ID          ID token lifetime, seconds                  (60)
//   INTEROP_TTL_REFRESH     refresh token lifetime, seconds             (600)
//   INTEROP_TTL_CODE        authorization code lifetime, seconds        (60)
//   INTEROP_TTL_SESSION     browser session lifetime, seconds           (600)
//   INTEROP_TTL_INTERACTION login/consent interaction lifetime, seconds (300)
//   INTEROP_REFRESH_POLICY  `always`: a refresh token for every code exchange (default);
//                           `library`: oidc-provider's own rule (only with offline_access,
//                           which it keeps only when the request also has prompt=consent)
//
// The first line on stdout is `LISTENING http://127.0.0.1:<port>` (the issuer, exactly).
// Afterwards one line per protocol event, never with a token, code or password in it.

import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] || fallback;
const seconds = (name, fallback) => {
  const v = Number.parseInt(env(name, String(fallback)), 10);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number of seconds`);
  return v;
};

const CLIENT_ID = env('INTEROP_CLIENT_ID', 'latchkey-interop');
const USER = {
  username: env('INTEROP_USERNAME', 'alice'),
  password: env('INTEROP_PASSWORD', 'correct horse battery staple'),
  sub: 'a1b2c3d4-0000-4000-8000-00000000a11c',
  email: 'alice@example.test',
  name: 'Alice Interop',
};

const log = (...parts) => console.log(new Date().toISOString().slice(11, 23), ...parts);

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:28em;margin:2em auto}label,input,button{display:block;margin:.4em 0}.error{color:#a00}</style>
</head><body><main id="page" data-page="${escapeHtml(title.toLowerCase().replace(/\s+/g, '-'))}">
<h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:*",
  });
  res.end(html);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid, params, error) {
  return page('Sign in', `
<p>Sign in to continue to <strong id="client">${escapeHtml(params.client_id)}</strong>.</p>
${error ? `<p id="error" class="error">${escapeHtml(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label for="username">User name</label>
  <input id="username" name="username" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button id="signin" type="submit">Sign in</button>
</form>
<form id="abort" method="post" action="/interaction/${escapeHtml(uid)}/abort">
  <button id="cancel" type="submit">Cancel</button>
</form>`);
}

function consentPage(uid, params, details) {
  const scopes = [...(details.missingOIDCScope || [])];
  const claims = [...(details.missingOIDCClaims || [])];
  return page('Allow access', `
<p><strong id="client">${escapeHtml(params.client_id)}</strong> asks for:</p>
<ul id="scopes">${scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
${claims.length ? `<ul id="claims">${claims.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ul>` : ''}
<form id="consent" method="post" action="/interaction/${escapeHtml(uid)}/confirm">
  <button id="approve" type="submit">Allow</button>
</form>
<form id="abort" method="post" action="/interaction/${escapeHtml(uid)}/abort">
  <button id="deny" type="submit">Deny</button>
</form>`);
}

// ---- bind first: the issuer must name the port the browser will use ----

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number.parseInt(env('INTEROP_PORT', '0'), 10) || 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = `http://127.0.0.1:${port}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_name: 'Latchkey (interop)',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // RFC 8252 §7.3: for native clients the provider matches loopback redirects on any port.
    redirect_uris: ['http://127.0.0.1/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1/signed-out'],
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  async findAccount(_ctx, sub) {
    if (sub !== USER.sub) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: USER.email,
          email_verified: true,
          name: USER.name,
          preferred_username: USER.username,
        };
      },
    };
  },
  // Latchkey never sends prompt=consent, so `offline_access` would be dropped: issue refresh
  // tokens to every client that may use the refresh_token grant instead.
  ...(env('INTEROP_REFRESH_POLICY', 'always') === 'always' ? {
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
  } : {}),
  // Public clients: PKCE (S256) always. Refresh tokens keep the library's default rotation:
  // a new one on every use, and a reused one revokes the whole grant.
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    revocation: {
      enabled: true,
      // The library's default rule, written out: a client revokes only its own tokens.
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
    userinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out', `
<p>Sign out of <span id="host">${escapeHtml(ctx.host)}</span>?</p>
${form}
<button id="logout-yes" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button id="logout-no" type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p id="signed-out">You are signed out.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<dl id="error">${Object.entries(out)
      .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd class="${escapeHtml(k)}">${escapeHtml(v)}</dd>`).join('')}</dl>`);
  },
  ttl: {
    AccessToken: seconds('INTEROP_TTL_ACCESS', 60),
    IdToken: seconds('INTEROP_TTL_ID', 60),
    RefreshToken: seconds('INTEROP_TTL_REFRESH', 600),
    AuthorizationCode: seconds('INTEROP_TTL_CODE', 60),
    Session: seconds('INTEROP_TTL_SESSION', 600),
    Grant: seconds('INTEROP_TTL_REFRESH', 600),
    Interaction: seconds('INTEROP_TTL_INTERACTION', 300),
  },
};

const provider = new Provider(ISSUER, configuration);

// ---- events: enough to diagnose a failure, never a secret ----
const describe = (err) => [err?.name, err?.error, err?.error_description, err?.message]
  .filter(Boolean).filter((v, i, a) => a.indexOf(v) === i).join(' | ');
for (const event of [
  'authorization.error', 'grant.error', 'end_session.error', 'revocation.error',
  'userinfo.error', 'server_error', 'discovery.error', 'jwks.error', 'interaction.error',
]) {
  provider.on(event, (_ctx, err) => log(event, describe(err)));
}
provider.on('authorization.accepted', (ctx) => log('authorization.accepted', `redirect_uri=${ctx.oidc.params.redirect_uri}`, `scope=${ctx.oidc.params.scope}`, `prompt=${ctx.oidc.params.prompt ?? ''}`));
provider.on('authorization.success', () => log('authorization.success'));
provider.on('interaction.started', (_ctx, prompt) => log('interaction.started', prompt.name, prompt.reasons.join(',')));
provider.on('grant.success', (ctx) => log('grant.success', ctx.oidc.params.grant_type));
provider.on('grant.revoked', () => log('grant.revoked'));
provider.on('refresh_token.consumed', () => log('refresh_token.consumed'));
provider.on('refresh_token.destroyed', () => log('refresh_token.destroyed'));
provider.on('end_session.success', () => log('end_session.success'));

// ---- our interaction UI ----

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const { prompt, params, session } = details;

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid, params));
    if (prompt.name === 'consent') return send(res, 200, consentPage(uid, params, prompt.details));
    return send(res, 400, page('Error', `<p id="error">unsupported prompt ${escapeHtml(prompt.name)}</p>`));
  }
  if (req.method !== 'POST') return send(res, 405, page('Error', '<p id="error">method not allowed</p>'));

  if (action === 'login' && prompt.name === 'login') {
    const form = await readForm(req);
    const ok = form.get('username') === USER.username
      && crypto.timingSafeEqual(
        crypto.createHash('sha256').update(form.get('password') || '').digest(),
        crypto.createHash('sha256').update(USER.password).digest(),
      );
    if (!ok) {
      log('interaction.login', 'wrong user name or password');
      return send(res, 200, loginPage(uid, params, 'Wrong user name or password.'));
    }
    log('interaction.login', 'ok');
    return provider.interactionFinished(req, res, { login: { accountId: USER.sub } }, { mergeWithLastSubmission: false });
  }

  if (action === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    log('interaction.consent', 'approved');
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  if (action === 'abort') {
    log('interaction.abort');
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 400, page('Error', '<p id="error">unexpected step</p>'));
}

const providerCallback = provider.callback();
server.on('request', async (req, res) => {
  // Access log: method, path (never the query: it may carry codes or tokens) and status.
  res.on('finish', () => log('http', req.method, req.url.split('?')[0], res.statusCode));
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/.exec(req.url.split('?')[0]);
  if (!m) return providerCallback(req, res);
  try {
    return await interaction(req, res, m[1], m[2]);
  } catch (err) {
    log('interaction.error', describe(err));
    if (!res.headersSent) send(res, 400, page('Error', `<p id="error">${escapeHtml(describe(err))}</p>`));
    return undefined;
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));

console.log(`LISTENING ${ISSUER}`);
