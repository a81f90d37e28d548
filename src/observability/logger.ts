import { pino, type Logger } from 'pino';

/** meshlog's own structured logs: JSON lines on stdout, secrets redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'meshlog' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token', 'adminToken'],
      censor: '[redacted]',
    },
  });
}
