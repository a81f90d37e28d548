import { test } from 'node:test';
import { redeliveredOnceThrough } from '../../support/agentRedeliveryOutput.js';

test('loki output: the server SIGKILLed mid-shipping and restarted, then every batch re-sent: every line stored exactly once', () =>
  redeliveredOnceThrough('loki', { type: 'loki' }));
