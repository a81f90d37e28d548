/** A refused or failed API call, with the server's reason (JSON `error`, or Loki's plain text). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

import { currentTenant } from '../shell/tenant';

let csrfToken = '';
const unauthorizedListeners = new Set<() => void>();

/** Set from the session: state-changing calls echo it (the server checks it against the session). */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when a call answers 401: the session expired or was logged out. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => void unauthorizedListeners.delete(listener);
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | number | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

async function reasonOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const json = JSON.parse(text) as { error?: unknown };
    if (typeof json.error === 'string') return json.error;
    if (json.error && typeof json.error === 'object' && 'reason' in json.error) return String((json.error as { reason: unknown }).reason);
  } catch {
    // Loki's API answers errors as plain text.
  }
  return text.trim() || response.statusText;
}

/** One call to meshlog's HTTP API, authenticated by the session cookie. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const tenant = currentTenant();
  if (tenant) headers['x-scope-orgid'] = tenant;
  const response = await fetch(apiUrl(path, options.query), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: 'same-origin',
    signal: options.signal,
  });
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/v1/session') unauthorizedListeners.forEach((listener) => listener());
    throw new ApiError(response.status, await reasonOf(response));
  }
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await request(path, options)).json() as Promise<T>;
}
