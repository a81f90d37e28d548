import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinStackTraces } from '../../../src/pipeline/parse/stackTraceLines.js';

test('Java: the exception class line, frames, Caused by and "... n common frames" join the line that logged them', () => {
  const lines = [
    '2024-05-01 10:00:00.123 ERROR 1 --- [nio-8080-exec-1] o.a.c.c.C.[.[.[/].[dispatcherServlet] : Servlet.service() failed',
    'java.lang.IllegalStateException: cart is empty',
    '\tat com.shop.cart.CartService.checkout(CartService.java:42)',
    '\tat com.shop.cart.CartController.post(CartController.java:17)',
    'Caused by: java.lang.NullPointerException: null',
    '\tat com.shop.cart.Cart.items(Cart.java:9)',
    '\t... 52 common frames omitted',
    '2024-05-01 10:00:00.200  INFO 1 --- [nio-8080-exec-2] c.s.c.CartController : next request',
  ];
  const joined = joinStackTraces(lines);
  assert.deepEqual(joined, [lines.slice(0, 7).join('\n'), lines[7]]);
});

test('Python: traceback, chained exception and the closing exception line join the log line', () => {
  const lines = [
    'ERROR:root:payment failed',
    'Traceback (most recent call last):',
    '  File "/app/pay.py", line 12, in charge',
    '    gateway.charge(card)',
    '  File "/app/gateway.py", line 40, in charge',
    '    raise TimeoutError("gateway timeout")',
    'TimeoutError: gateway timeout',
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    'Traceback (most recent call last):',
    '  File "/app/pay.py", line 14, in charge',
    'RuntimeError: retry failed',
    'INFO:root:next order',
  ];
  const joined = joinStackTraces(lines);
  assert.deepEqual(joined, [lines.slice(0, 13).join('\n'), 'INFO:root:next order']);
});

test('Go: a panic and its goroutine dump are one record', () => {
  const lines = [
    'panic: runtime error: invalid memory address or nil pointer dereference',
    '[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]',
    '',
    'goroutine 1 [running]:',
    'main.(*Server).handle(0x0, {0x7ffd, 0x3})',
    '\t/src/server.go:88 +0x1d',
    'main.main()',
    '\t/src/main.go:12 +0x25',
    'exit status 2',
  ];
  const joined = joinStackTraces(lines);
  assert.deepEqual(joined, [lines.slice(0, 8).join('\n'), 'exit status 2']);
});

test('Node: an Error and its "    at" frames are one record; ordinary lines stay apart', () => {
  const lines = [
    "TypeError: Cannot read properties of undefined (reading 'id')",
    '    at getOrder (/app/orders.js:10:21)',
    '    at async Promise.all (index 0)',
    '    at async handler (/app/server.js:33:5)',
    'listening on :3000',
    'GET /health 200',
  ];
  assert.deepEqual(joinStackTraces(lines), [lines.slice(0, 4).join('\n'), 'listening on :3000', 'GET /health 200']);
});
