/**
 * Every error meshlog reports to a client, declared once with a stable code,
 * the HTTP status it maps to, and whether the client should retry.
 */
export const errorCodes = {
  ML_AUTH_MISSING: { status: 401, retryable: false, message: 'missing credentials: send Authorization: Bearer <token>' },
  ML_AUTH_INVALID: { status: 401, retryable: false, message: 'invalid credentials' },
  ML_TENANT_INVALID: { status: 400, retryable: false, message: 'invalid X-Scope-OrgID' },
  ML_FORBIDDEN: { status: 403, retryable: false, message: 'forbidden' },
  ML_NOT_FOUND: { status: 404, retryable: false, message: 'not found' },
  ML_CONFLICT: { status: 409, retryable: false, message: 'conflicts with the current state' },
  ML_CONTENT_TYPE: { status: 415, retryable: false, message: 'unsupported content type' },
  ML_ENCODING: { status: 415, retryable: false, message: 'unsupported content encoding' },
  ML_BODY_TOO_LARGE: { status: 413, retryable: false, message: 'request body too large' },
  ML_DECODE: { status: 400, retryable: false, message: 'request body could not be decoded' },
  ML_QUERY_PARSE: { status: 400, retryable: false, message: 'invalid LogQL' },
  ML_QUERY_INVALID: { status: 400, retryable: false, message: 'invalid query request' },
  ML_QUERY_LIMIT: { status: 400, retryable: false, message: 'query exceeds a limit' },
  ML_QUERY_PIPELINE: { status: 400, retryable: false, message: 'pipeline error' },
  ML_QUERY_TIMEOUT: {
    status: 504,
    retryable: false,
    message:
      'request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed',
  },
  ML_QUERY_CANCELLED: { status: 499, retryable: false, message: 'query cancelled' },
  ML_OVERLOADED: { status: 429, retryable: true, message: 'ingest queue is full, retry later' },
  ML_RATE_LIMITED: { status: 429, retryable: true, message: 'rate limit exceeded, retry later' },
  ML_UNAVAILABLE: { status: 503, retryable: true, message: 'storage unavailable, retry later' },
  /** Records storage refused as invalid (bad data that got past the receivers): resending them cannot help. */
  ML_RECORDS_REFUSED: { status: 400, retryable: false, message: 'storage refused the records as invalid' },
  /** Anything not known to be transient: never retryable; the error id is in the answer and in the server log. */
  ML_INTERNAL: { status: 500, retryable: false, message: 'internal error' },
  ML_SHUTTING_DOWN: { status: 503, retryable: true, message: 'server is shutting down, retry later' },
  ML_RENDERER_MISSING: { status: 501, retryable: false, message: 'PDF rendering needs chromium on the server (apt-get install chromium)' },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class MeshlogError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Seconds a client should wait before retrying (Retry-After). */
  readonly retryAfterSeconds: number | undefined;
  /** Names one ML_INTERNAL occurrence: in the answer and in the server's log line, so the two can be matched. */
  readonly errorId: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { retryAfterSeconds?: number; cause?: unknown; errorId?: string }) {
    const spec = errorCodes[code];
    const text = detail ? `${spec.message}: ${detail}` : spec.message;
    super(options?.errorId ? `${text} (error id ${options.errorId})` : text, { cause: options?.cause });
    this.errorId = options?.errorId;
    this.name = 'MeshlogError';
    this.code = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.retryAfterSeconds = options?.retryAfterSeconds ?? (spec.retryable ? 1 : undefined);
  }
}
