import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, screenshot } from '../../support/webBrowser.js';

let identityProvider: Server;
let meshlog: RunningMeshlog;
let browser: Browser;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A real OpenID provider (panva's oidc-provider, the certified implementation)
 * with its development login form: any login name signs in; `ana` is in a
 * group meshlog maps to analyst (and so is everyone else), `mallory` in none.
 */
async function startIdentityProvider(meshlogUrl: string): Promise<string> {
  identityProvider = createServer();
  await new Promise<void>((resolve) => identityProvider.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(identityProvider.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'meshlog-ui',
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${meshlogUrl}/api/v1/session/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          email: `${id}@example.com`,
          groups: id === 'mallory' ? ['visitors'] : ['sre-readers'],
          meshlog_tenants: ['default'],
        }),
      };
    },
    claims: { openid: ['sub'], email: ['email'], meshlog: ['groups', 'meshlog_tenants'] },
    scopes: ['openid', 'email', 'meshlog'],
    // The claims asked for by scope go into the ID token, which is what meshlog reads.
    conformIdTokenClaims: false,
    cookies: { keys: ['webSso-test-cookie-key'] },
    features: { devInteractions: { enabled: true } },
  });
  identityProvider.on('request', provider.callback());
  return issuer;
}

before(async () => {
  const port = await freePort();
  const meshlogUrl = `http://127.0.0.1:${port}`;
  const issuer = await startIdentityProvider(meshlogUrl);
  const configFile = join(tempDataDir('meshlog-sso-config-'), 'meshlog.yaml');
  writeFileSync(
    configFile,
    [
      'oidc:',
      `  issuer: ${issuer}`,
      `  jwks_url: ${issuer}/jwks`,
      '  audience: meshlog-api',
      '  role_map: { sre-readers: analyst }',
      '  client_id: meshlog-ui',
      '  scopes: openid email meshlog',
      '',
    ].join('\n'),
  );
  meshlog = await startMeshlog({ args: ['--config', configFile, '--http-port', String(port)] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
  identityProvider?.close();
});

test('single sign-on: authorization code with PKCE at a real OpenID provider becomes a session with the mapped role', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto(`${meshlog.url}/ui/tail`);
  const sso = page.getByRole('link', { name: 'Log in with single sign-on' });
  await sso.waitFor();
  await screenshot(page, '09-login-sso');

  const authorizationRequest = page.waitForRequest((request) => request.url().includes('/auth?'));
  await sso.click();
  const authorizationUrl = new URL((await authorizationRequest).url());
  assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
  assert.match(authorizationUrl.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok(authorizationUrl.searchParams.get('state') && authorizationUrl.searchParams.get('nonce'));

  await page.locator('input[name=login]').fill('ana');
  await page.locator('input[name=password]').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${meshlog.url}/ui/tail`);
  await page.getByText('ana@example.com · analyst').waitFor();
  const cookie = (await context.cookies()).find((candidate) => candidate.name === 'meshlog_session');
  assert.equal(cookie?.sameSite, 'Strict');
  assert.equal(await page.evaluate(async () => (await fetch('/loki/api/v1/labels')).status), 200, 'the session reads logs');
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/admin/keys')).status), 403, 'as an analyst, nothing more');

  // A forged callback (state this browser never got) is refused.
  await page.goto(`${meshlog.url}/api/v1/session/oidc/callback?code=stolen&state=forged`);
  await page.waitForURL(/\/ui\/login\?error=/);
  await context.close();

  const audit = await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=auth.session.login`, {
    headers: { Authorization: `Bearer ${meshlog.token}` },
  });
  const events = ((await audit.json()) as { events: { outcome: string; actor_name: string; detail: string }[] }).events;
  assert.ok(
    events.some(
      (event) => event.outcome === 'success' && event.actor_name === 'ana@example.com' && JSON.parse(event.detail).method === 'oidc',
    ),
  );
  assert.ok(events.some((event) => event.outcome === 'denied' && /did not start in this browser/.test(event.detail)));
});

test('single sign-on for a user without a mapped role ends at the login page with the reason', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto(`${meshlog.url}/`);
  await page.getByRole('link', { name: 'Log in with single sign-on' }).click();
  await page.locator('input[name=login]').fill('mallory');
  await page.locator('input[name=password]').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/ui\/login\?error=/);
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /mallory@example.com has no role that can use the UI/);
  assert.equal(
    (await context.cookies()).some((candidate) => candidate.name === 'meshlog_session'),
    false,
  );
  await context.close();
});

/** Signs in at the provider's development form as `login`; resolves once the browser is back at meshlog. */
async function signIn(page: import('playwright-core').Page, login: string): Promise<void> {
  await page.goto(`${meshlog.url}/`);
  await page.getByRole('link', { name: 'Log in with single sign-on' }).click();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${meshlog.url}/**`);
}

test('a user disabled in meshlog is refused in their open SSO session and cannot sign in again, though the provider still vouches for them', async () => {
  const admin = { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' };
  const created = await fetch(`${meshlog.url}/api/v1/admin/users`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: 'cleo', email: 'cleo@example.com', roles: ['analyst'], tenants: ['default'] }),
  });
  assert.equal(created.status, 201);
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await signIn(page, 'cleo');
  await page.getByText('cleo@example.com · analyst').waitFor();
  assert.equal(await page.evaluate(async () => (await fetch('/loki/api/v1/labels')).status), 200);

  const disabled = await fetch(`${meshlog.url}/api/v1/admin/users/cleo/disable`, { method: 'POST', headers: admin, body: '{}' });
  assert.equal(disabled.status, 200);
  assert.equal(
    await page.evaluate(async () => (await fetch('/loki/api/v1/labels')).status),
    401,
    'the open session is refused with the user',
  );

  await context.close();

  // A fresh browser, so the provider asks for the login again and then vouches for cleo.
  const again = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const retry = await again.newPage();
  await signIn(retry, 'cleo');
  await retry.waitForURL(/\/ui\/login\?error=/);
  assert.match(await retry.getByRole('alert').innerText(), /user "cleo" is disabled/);
  assert.equal(
    (await again.cookies()).some((candidate) => candidate.name === 'meshlog_session'),
    false,
  );
  await again.close();

  const audit = await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=auth.session.login&outcome=denied`, { headers: admin });
  const events = ((await audit.json()) as { events: { detail: string }[] }).events;
  assert.equal(events.filter((event) => /user \\"cleo\\" is disabled/.test(event.detail)).length, 1);
});
