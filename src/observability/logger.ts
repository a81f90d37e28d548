import { pino, type Logger } from 'pino';
import { scrubText, scrubValue } from '../security/credentialScrubber.js';

/**
 * meshlog's own structured logs: JSON lines on stdout, secrets redacted:
 * known secret fields by path, and every field and message scrubbed of
 * credentials (keys in URLs, tokens in error texts) by the same scrubber
 * the audit trail uses.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'meshlog' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'req.headers["dd-api-key"]', 'headers["dd-api-key"]', 'req.headers.cookie', 'headers.cookie', 'token', '*.token', 'adminToken', 'secret_access_key', '*.secret_access_key', '*.*.secret_access_key'],
      censor: '[redacted]',
    },
    formatters: { log: (object) => scrubValue(object) },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg)) as Parameters<typeof method>);
      },
    },
  });
}
