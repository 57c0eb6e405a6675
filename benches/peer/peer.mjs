// The peer in Latchkey's benchmarks: openid-client (panva; the OpenID Certified relying-party
// library for Node) doing the same authorization-code exchange + ID-token verification against
// the same latchkey-devidp, timed the same way: from "the callback URL is in hand" to "verified
// tokens". Prints one JSON line on stdout. `cargo xtask bench` (crates/bench) starts it.
//
// Environment: PEER_ISSUER, PEER_CLIENT_ID, PEER_REDIRECT_URI, PEER_USERNAME, PEER_PASSWORD,
// PEER_RUNS (default 100), PEER_WARMUP (default 10), PEER_VERIFY_RUNS (default 2000).

import * as client from 'openid-client';
import * as jose from 'jose';
import { readFileSync } from 'node:fs';

const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new Error(`${name} is not set`);
    return fallback;
  }
  return v;
};

const issuer = new URL(env('PEER_ISSUER'));
const clientId = env('PEER_CLIENT_ID');
const redirectUri = env('PEER_REDIRECT_URI');
const username = env('PEER_USERNAME');
const password = env('PEER_PASSWORD');
const runs = Number(env('PEER_RUNS', '100'));
const warmup = Number(env('PEER_WARMUP', '10'));
const verifyRuns = Number(env('PEER_VERIFY_RUNS', '2000'));
const scope = 'openid email profile';

const ns = () => process.hrtime.bigint();

// Discovery once (as an app would at start-up); a public client; http on loopback allowed;
// ID-token signatures checked against the JWKS (cached by openid-client after the first use),
// so the work matches Latchkey's.
const config = await client.discovery(issuer, clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
client.enableNonRepudiationChecks(config);

// The hosted-UI dance over HTTP (not timed): authorize → /login form → callback URL.
async function callbackUrl(state, nonce, challenge) {
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const r1 = await fetch(authorize, { redirect: 'manual' });
  await r1.arrayBuffer();
  if (r1.status < 300 || r1.status >= 400) throw new Error(`authorize answered ${r1.status}`);
  const login = new URL(r1.headers.get('location'), authorize);
  // The login page sets the XSRF-TOKEN cookie the form must echo in `_csrf` (as Cognito's).
  const page = await fetch(login, { redirect: 'manual' });
  await page.arrayBuffer();
  const xsrf = page.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('XSRF-TOKEN='))
    ?.slice('XSRF-TOKEN='.length);
  if (!xsrf) throw new Error(`the login page (${page.status}) set no XSRF-TOKEN cookie`);
  // Cognito's sign-in form posts back to `/login?<the authorize query>` with this body only.
  const form = new URLSearchParams({
    _csrf: xsrf,
    username,
    password,
    cognitoAsfData: '',
    signInSubmitButton: 'Sign in',
  });
  const post = new URL(login);
  const r2 = await fetch(post, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: `XSRF-TOKEN=${xsrf}`,
    },
    body: form.toString(),
  });
  await r2.arrayBuffer();
  if (r2.status < 300 || r2.status >= 400) throw new Error(`login answered ${r2.status}`);
  return new URL(r2.headers.get('location'), post);
}

const exchangeVerifyNs = [];
let lastIdToken = null;
for (let i = 0; i < warmup + runs; i++) {
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const cb = await callbackUrl(state, nonce, challenge);
  const t0 = ns();
  const tokens = await client.authorizationCodeGrant(config, cb, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const t1 = ns();
  if (!tokens.claims()?.sub) throw new Error('no verified ID token claims');
  lastIdToken = tokens.id_token;
  if (i >= warmup) exchangeVerifyNs.push(Number(t1 - t0));
}

// Per-token verification with jose (what openid-client uses) and a cached (local) JWKS.
const meta = config.serverMetadata();
const jwksDoc = await (await fetch(meta.jwks_uri)).json();
const keys = jose.createLocalJWKSet(jwksDoc);
const verifyNs = [];
for (let i = 0; i < 200 + verifyRuns; i++) {
  const t0 = ns();
  await jose.jwtVerify(lastIdToken, keys, { issuer: meta.issuer, audience: clientId });
  const t1 = ns();
  if (i >= 200) verifyNs.push(Number(t1 - t0));
}

const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url))).version;

process.stdout.write(
  JSON.stringify({
    node: process.version,
    openid_client: version('openid-client'),
    jose: version('jose'),
    exchange_verify_ns: exchangeVerifyNs,
    verify_ns: verifyNs,
  }) + '\n',
);
