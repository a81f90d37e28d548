import { pino, type Logger } from 'pino';

/** meshlog's own structured logs: JSON lines on stdout, secrets redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'meshlog' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token', 'adminToken', 'secret_access_key', '*.secret_access_key', '*.*.secret_access_key'],
      censor: '[redacted]',
    },
  });
}
