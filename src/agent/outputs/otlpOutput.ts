import { encodeBatch, rejectedRecords } from '../delivery/otlpRequest.js';
import type { AgentOutput } from '../delivery/agentOutput.js';

/** OTLP/HTTP logs (protobuf, gzip): meshlog's own `/v1/logs`, or any OpenTelemetry Collector or backend. */
export function otlpOutput(url: string): AgentOutput {
  return {
    name: 'otlp',
    url,
    contentType: 'application/x-protobuf',
    contentEncoding: 'gzip',
    encode: encodeBatch,
    judge: (answer) => {
      try {
        const { rejected, message } = rejectedRecords(answer);
        return rejected > 0 ? { kind: 'ok', warning: `server rejected ${rejected} records as invalid: ${message}` } : { kind: 'ok' };
      } catch {
        // A 2xx acknowledges the batch whatever its body says.
        return { kind: 'ok' };
      }
    },
  };
}
