import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Browser } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

let meshlog: RunningMeshlog;
let browser: Browser;
let analystKey: string;
const now = Date.now();
const ns = (ms: number) => `${Math.round(ms)}000000`;

async function lokiPush(streams: { stream: Record<string, string>; values: (string | Record<string, string>)[][] }[]): Promise<void> {
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams }),
  });
  assert.equal(response.status, 204, await response.text());
}

/** A checkout trace through the OTel SDK: a server span with a child calling inventory and a failing child calling payments; resolves with the server span's id. */
async function sendTrace(): Promise<string> {
  const start = now - 10 * 60_000;
  const at = (offsetMs: number): [number, number] => [Math.floor((start + offsetMs) / 1000), ((start + offsetMs) % 1000) * 1_000_000];
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [
      new SimpleSpanProcessor(
        new OTLPTraceExporter({ url: `${meshlog.url}/v1/traces`, headers: { Authorization: `Bearer ${meshlog.token}` } }),
      ),
    ],
  });
  const tracer = provider.getTracer('shop');
  // The caller's span (not stored here) fixes the trace id.
  const caller = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'eee19b7ec3c1b174', traceFlags: 1, isRemote: true });
  const server = tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER, startTime: at(0) }, caller);
  const inside = trace.setSpan(ROOT_CONTEXT, server);
  const reserve = tracer.startSpan('reserve stock', { kind: SpanKind.CLIENT, startTime: at(100) }, inside);
  reserve.end(at(300));
  const pay = tracer.startSpan('charge card', { kind: SpanKind.CLIENT, startTime: at(350) }, inside);
  pay.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  pay.end(at(800));
  server.end(at(900));
  await provider.forceFlush();
  await provider.shutdown();
  return server.spanContext().spanId;
}

before(async () => {
  meshlog = await startMeshlog();
  const created = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'on-call analyst', roles: ['analyst'], tenants: ['default'] }),
  });
  analystKey = ((await created.json()) as { key: string }).key;

  // 300 lines over the last 50 minutes from three services, a tenth of them errors, some of them in the trace.
  const levels = ['info', 'info', 'info', 'debug', 'warn', 'info', 'info', 'info', 'info', 'error'];
  const streams: Parameters<typeof lokiPush>[0] = ['checkout', 'inventory', 'payments'].map((service, s) => ({
    stream: { service_name: service, k8s_namespace_name: 'shop' },
    values: Array.from({ length: 100 }, (_, i) => {
      const level = levels[(i + s) % levels.length];
      return [
        ns(now - 50 * 60_000 + i * 30_000 + s * 1000),
        `level=${level} msg="order ${1000 + i} handled by ${service}" duration_ms=${(i * 7) % 300}`,
      ];
    }),
  }));
  const serverSpanId = await sendTrace();
  streams[2].values.push([
    ns(now - 10 * 60_000 + 500),
    'level=error msg="card declined by issuer" order=1042',
    { trace_id: traceId, span_id: serverSpanId },
  ]);
  streams[0].values.push([
    ns(now - 10 * 60_000 + 50),
    'level=info msg="checkout started" order=1042',
    { trace_id: traceId, span_id: serverSpanId },
  ]);
  await lokiPush(streams);

  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

const withClipboard = { permissions: ['clipboard-read', 'clipboard-write'] };

test('an analyst logs in, queries, brushes the histogram, expands a record and follows its trace id', async () => {
  const page = await newPage(browser, withClipboard);
  await page.goto(`${meshlog.url}/`);
  await page.getByLabel('API key').waitFor();
  await screenshot(page, '01-login');

  await page.getByLabel('API key').fill('not-a-key');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /invalid credentials/);

  await page.getByLabel('API key').fill(analystKey);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/ui\/explore/);
  const cookie = (await page.context().cookies()).find((candidate) => candidate.name === 'meshlog_session');
  assert.ok(cookie, 'a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie.includes('meshlog_session')), false, 'scripts cannot read the session');

  // Run a query typed with the label completion.
  const editor = page.getByLabel('LogQL query');
  await editor.fill('{serv');
  await page.getByRole('option', { name: 'service_name' }).waitFor();
  await editor.press('Enter');
  await page.getByRole('option', { name: 'payments' }).waitFor();
  await page.getByRole('option', { name: 'payments' }).click();
  await editor.press('End');
  await editor.pressSequentially('}');
  await editor.press('Enter');
  await page.waitForURL(/q=%7Bservice_name%3D%22payments%22%7D/);
  await page.getByRole('status').filter({ hasText: '101 lines' }).waitFor();
  const histogramBars = await page.locator('.histogram rect:not(.brush)').count();
  assert.ok(histogramBars > 10, `histogram bars: ${histogramBars}`);
  assert.deepEqual(
    await page
      .locator('.legend span')
      .allInnerTexts()
      .then((texts) => texts.filter((text) => !text.startsWith('max')))
      .then((texts) => texts.sort()),
    ['debug', 'error', 'info', 'warn'],
  );
  await screenshot(page, '02-explore');

  // Brush the middle of the histogram: the range zooms to it, and fewer lines match.
  const box = (await page.locator('.histogram svg').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/from=\d{13}&to=\d{13}/);
  const zoomed = new URL(page.url());
  const span = Number(zoomed.searchParams.get('to')) - Number(zoomed.searchParams.get('from'));
  assert.ok(span > 10 * 60_000 && span < 25 * 60_000, `zoomed to ${span} ms of the hour`);
  await page.waitForFunction(
    () =>
      /^\d+ lines/.test(document.querySelector('[role=status]')?.textContent ?? '') &&
      !document.querySelector('[role=status]')!.textContent!.startsWith('101 '),
  );
  const zoomedCount = Number((await page.getByRole('status').innerText()).split(' ')[0]);
  assert.ok(zoomedCount > 20 && zoomedCount < 60, `lines in the zoomed range: ${zoomedCount}`);

  // A parse error is shown inline, from the server's answer.
  await editor.fill('{service_name="payments"} |= ');
  await editor.press('Enter');
  await page.locator('.parse-error').waitFor();
  assert.match(await page.locator('.parse-error').innerText(), /parse error at line 1, col \d+/);
  assert.ok((await page.locator('.tok-error').count()) > 0, 'the error position is marked in the query');
  await screenshot(page, '03-explore-parse-error');

  // The shared link reproduces the view: query and range are in the URL.
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent(`{service_name="payments"} |= "declined"`)}&from=now-1h&to=now`);
  await page.getByRole('status').filter({ hasText: '1 lines' }).waitFor();
  await page.locator('.row').first().click();
  const fields = page.getByRole('table', { name: 'fields' });
  await fields.waitFor();
  const fieldText = await fields.innerText();
  for (const expected of ['service_name', 'payments', 'detected_level', 'error', 'trace_id', traceId, 'k8s_namespace_name'])
    assert.ok(fieldText.includes(expected), `${expected} in ${fieldText}`);
  await screenshot(page, '04-explore-record');

  await page.getByRole('button', { name: 'Copy as JSON' }).click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText())) as { line: string; labels: Record<string, string> };
  assert.equal(copied.line, 'level=error msg="card declined by issuer" order=1042');
  assert.equal(copied.labels.trace_id, traceId);

  // Context: the lines around it from the same stream, every level.
  await page.getByRole('button', { name: 'Show context' }).click();
  const contextDialog = page.getByRole('dialog', { name: 'context' });
  await contextDialog.getByText('card declined by issuer').waitFor();
  const contextText = await contextDialog.innerText();
  assert.match(contextText, /\{.*service_name="payments".*\}/);
  const neighbours = contextText.match(/order 10\d\d handled by payments/g) ?? [];
  assert.ok(neighbours.length >= 10, `lines around it: ${neighbours.length}`);
  assert.match(contextText, /level=info/, 'context is not only errors');
  await screenshot(page, '04b-explore-context');
  await contextDialog.getByRole('button', { name: 'Close' }).click();

  // A sidebar value adds a filter to the query.
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('{service_name="payments"}')}`);
  await page.getByRole('status').filter({ hasText: '101 lines' }).waitFor();
  await page
    .locator('.sidebar details', { hasText: 'detected_level' })
    .getByRole('button', { name: /^error/ })
    .click();
  await page.waitForURL(/detected_level%3D%22error%22/);
  await page
    .getByRole('status')
    .filter({ hasText: /^1[01] lines/ })
    .waitFor();
  await page.locator('.row').first().click();

  await page.getByRole('link', { name: traceId }).first().click();
  await page.waitForURL(new RegExp(`/ui/trace/${traceId}$`));
  const waterfall = page.getByRole('table', { name: 'waterfall' });
  await waterfall.waitFor();
  const waterfallText = await waterfall.innerText();
  for (const expected of ['POST /checkout', 'reserve stock', 'charge card', 'card declined by issuer', 'checkout started'])
    assert.ok(waterfallText.includes(expected), `${expected} in the waterfall`);
  assert.equal(await page.locator('.waterfall .bar.error').count(), 1, 'the failed span is marked');
  await waterfall.getByText('charge card').click();
  const spanDetail = page.getByRole('table', { name: 'span charge card' });
  await spanDetail.waitFor();
  assert.match(await spanDetail.innerText(), /status\s+STATUS_CODE_ERROR: card declined|status\s+ERROR: card declined/);
  await screenshot(page, '05-trace');

  // The server refuses what the role cannot do, whatever the page tries.
  const refused = await page.evaluate(async () => {
    const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
    const response = await fetch('/api/v1/admin/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
      body: JSON.stringify({ name: 'sneaky', roles: ['admin'], tenants: ['*'] }),
    });
    return { status: response.status, body: await response.text() };
  });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /admin needs one of the roles admin; on-call analyst has analyst/);
  await page.context().close();
});

test('live tail shows a line committed after it opened, with pause and a rate', async () => {
  const page = await newPage(browser, withClipboard);
  await logIn(page, meshlog.url, analystKey);
  await page.goto(`${meshlog.url}/ui/tail?q=${encodeURIComponent('{service_name="inventory"}')}`);
  await page.locator('.badge.live').waitFor();
  await page.getByRole('log').getByText('handled by inventory').first().waitFor();

  await page.getByLabel('highlight').fill('restocked');
  await lokiPush([{ stream: { service_name: 'inventory' }, values: [[ns(Date.now()), 'level=info msg="sku 77 restocked" qty=40']] }]);
  const fresh = page.getByRole('log').getByText('sku 77');
  await fresh.waitFor();
  assert.equal(await page.getByRole('log').locator('mark').innerText(), 'restocked');
  await page.getByLabel('rate').filter({ hasText: /[1-9]/ }).waitFor();

  await page.getByRole('button', { name: 'Pause' }).click();
  await lokiPush([{ stream: { service_name: 'inventory' }, values: [[ns(Date.now()), 'level=warn msg="sku 78 low stock"']] }]);
  await page.getByRole('button', { name: 'Resume (1 new)' }).waitFor();
  assert.equal(await page.getByRole('log').getByText('sku 78').count(), 0, 'paused lines wait');
  await screenshot(page, '06-tail');
  await page.getByRole('button', { name: 'Resume (1 new)' }).click();
  await page.getByRole('log').getByText('sku 78').waitFor();
  await page.context().close();
});

test('the light theme, keyboard navigation, and logout ends the session', async () => {
  const page = await newPage(browser, withClipboard);
  await logIn(page, meshlog.url, meshlog.token);
  await page.getByRole('button', { name: 'switch theme' }).click();
  // The theme is applied by an effect after the click's render: wait for it rather than read it at once.
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  await page.goto(`${meshlog.url}/ui/explore?q=${encodeURIComponent('{service_name="checkout"}')}`);
  await page.getByRole('status').filter({ hasText: 'lines' }).waitFor();
  await page.locator('.row').first().waitFor();
  await page.getByRole('grid', { name: 'log lines' }).focus();
  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  await page.getByRole('table', { name: 'fields' }).waitFor();
  assert.equal(await page.locator('.row[aria-selected=true]').getAttribute('aria-expanded'), 'true');
  await screenshot(page, '07-explore-light');

  await page.getByRole('grid', { name: 'log lines' }).focus();
  await page.keyboard.press('g');
  await page.keyboard.press('t');
  await page.waitForURL(/\/ui\/tail/);
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'keyboard shortcuts' }).waitFor();
  await screenshot(page, '08-shortcuts');
  await page.keyboard.press('Escape');

  const csrfless = await page.evaluate(async () => (await fetch('/api/v1/session', { method: 'DELETE' })).status);
  assert.equal(csrfless, 403, 'a state change without the CSRF token is refused');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('API key').waitFor();
  const afterLogout = await page.evaluate(async () => (await fetch('/loki/api/v1/labels')).status);
  assert.equal(afterLogout, 401);

  const audit = await fetch(`${meshlog.url}/api/v1/audit?since=1h&limit=10000`, { headers: { Authorization: `Bearer ${meshlog.token}` } });
  const events = ((await audit.json()) as { events: { action: string; outcome: string; actor_name?: string }[] }).events;
  const actions = events.map((event) => `${event.action}:${event.outcome}`);
  assert.ok(actions.includes('auth.session.login:success'), actions.join());
  assert.ok(actions.includes('auth.session.login:denied'), 'the failed login is audited');
  assert.ok(actions.includes('auth.session.logout:success'), 'the logout is audited');
  await page.context().close();
});
