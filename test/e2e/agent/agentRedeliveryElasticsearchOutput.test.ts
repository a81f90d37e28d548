import { test } from 'node:test';
import { redeliveredOnceThrough } from '../../support/agentRedeliveryOutput.js';

test('elasticsearch output: the server SIGKILLed mid-shipping and restarted, then every batch re-sent: every line stored exactly once', () =>
  redeliveredOnceThrough('elasticsearch', { type: 'elasticsearch', index: 'agent-logs' }));
