import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Browser } from 'playwright-core';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { launchChromium, logIn, newPage, screenshot } from '../../support/webBrowser.js';

const traceId = '5cf92f3577b34da6a3ce929d0e0e4736';
let meshlog: RunningMeshlog;
let browser: Browser;

/** A 900 ms checkout through the OTel SDK: the server span, a stock reservation, and a failing card charge with attributes. */
async function sendTrace(): Promise<void> {
  const start = Date.now() - 5 * 60_000;
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
  const caller = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'eee19b7ec3c1b175', traceFlags: 1, isRemote: true });
  const server = tracer.startSpan(
    'POST /checkout',
    { kind: SpanKind.SERVER, startTime: at(0), attributes: { 'http.request.method': 'POST', 'http.route': '/checkout' } },
    caller,
  );
  server.setStatus({ code: SpanStatusCode.OK });
  const inside = trace.setSpan(ROOT_CONTEXT, server);
  tracer.startSpan('reserve stock', { kind: SpanKind.CLIENT, startTime: at(100) }, inside).end(at(300));
  const pay = tracer.startSpan(
    'charge card',
    { kind: SpanKind.CLIENT, startTime: at(350), attributes: { 'payment.provider': 'acquirer-eu' } },
    inside,
  );
  pay.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  pay.end(at(800));
  server.end(at(900));
  await provider.forceFlush();
  await provider.shutdown();
}

before(async () => {
  meshlog = await startMeshlog();
  await sendTrace();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (meshlog && meshlog.process.exitCode === null) await meshlog.stop();
});

test('the trace view has a time axis over the trace, and shows each span status and attributes without a click', async () => {
  const page = await newPage(browser);
  await logIn(page, meshlog.url, meshlog.token);
  await page.goto(`${meshlog.url}/ui/trace/${traceId}`);
  const waterfall = page.getByRole('table', { name: 'waterfall' });
  await waterfall.getByText('charge card').waitFor();
  const ticks = await page.locator('.time-axis .tick').allInnerTexts();
  assert.deepEqual(ticks, ['0 µs', '225.0 ms', '450.0 ms', '675.0 ms', '900.0 ms']);
  const charge = waterfall.locator('tr.span', { hasText: 'charge card' });
  assert.equal(await charge.locator('.span-status.error').innerText(), 'ERROR: card declined');
  assert.match(await charge.locator('.span-attributes').innerText(), /payment\.provider=acquirer-eu/);
  const server = waterfall.locator('tr.span', { hasText: 'POST /checkout' });
  assert.equal(await server.locator('.span-status').innerText(), 'OK');
  assert.match(await server.locator('.span-attributes').innerText(), /http\.request\.method=POST/);
  assert.equal(
    await waterfall.locator('tr.span', { hasText: 'reserve stock' }).locator('.span-status').count(),
    0,
    'an unset status shows nothing',
  );
  await screenshot(page, 'trace-01-axis-and-status');
  await page.context().close();
});

test('an auditor has the audit trail in the navigation and reads their own login in it', async () => {
  const created = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'external auditor', roles: ['auditor'], tenants: ['default'] }),
  });
  const key = ((await created.json()) as { key: string }).key;
  const page = await newPage(browser);
  await logIn(page, meshlog.url, key);
  const nav = page.getByRole('navigation', { name: 'pages' });
  assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Compliance', 'Access reviews', 'Audit trail']);
  await nav.getByRole('link', { name: 'Audit trail' }).click();
  await page.waitForURL(/\/ui\/audit$/);
  const events = page.getByRole('table', { name: 'audit events' });
  await events.locator('tr', { hasText: 'auth.session.login' }).filter({ hasText: 'external auditor' }).first().waitFor();
  await screenshot(page, 'audit-01-auditor-trail');

  await page.getByLabel('audit action').fill('no.such.action');
  await page.getByLabel('audit action').press('Enter');
  await page.getByText('No audit events match.').waitFor();
  await screenshot(page, 'audit-02-auditor-trail-empty');
  await page.context().close();
});
