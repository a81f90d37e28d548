import type { IncomingHttpHeaders } from 'node:http';
import { MeshlogError } from '../errors.js';

/**
 * The token a client presents, in whichever way its shipper sends one:
 * `Bearer <t>` (OTLP, Loki, ES), `Basic` with the token as password (Loki,
 * ES: any user name), `ApiKey <t>` or `ApiKey base64(id:t)` (ES),
 * `Splunk <t>` (HEC), or the `DD-API-KEY` header (Datadog).
 * undefined when none was sent.
 */
export function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (!authorization) {
    const apiKey = headers['dd-api-key'];
    return typeof apiKey === 'string' && apiKey !== '' ? apiKey.trim() : undefined;
  }
  const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization);
  if (!match) throw new MeshlogError('ML_AUTH_INVALID', 'expected "Bearer <token>"');
  const [, scheme, credential] = match;
  switch (scheme.toLowerCase()) {
    case 'bearer':
    case 'splunk':
      return credential;
    case 'basic':
      return afterColon(Buffer.from(credential, 'base64').toString('utf8')) ?? '';
    case 'apikey':
      return afterColon(base64Text(credential) ?? '') ?? credential;
    default:
      throw new MeshlogError('ML_AUTH_INVALID', `unsupported scheme "${scheme.slice(0, 20)}" (Bearer, Basic, ApiKey, Splunk)`);
  }
}

/** The text of a base64 credential, or undefined when it is not base64 of printable text (a raw key). */
function base64Text(credential: string): string | undefined {
  const bytes = Buffer.from(credential, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== credential.replace(/=+$/, '')) return undefined;
  const text = bytes.toString('utf8');
  return /^[\x20-\x7e]+$/.test(text) ? text : undefined;
}

function afterColon(text: string): string | undefined {
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : text.slice(colon + 1);
}

/**
 * A key carried in the request path, for the intakes that put it there
 * (Datadog's v1 `/v1/input/<api key>`): the route names the parameter
 * (`credentialParam`); undefined for every other route.
 */
export function pathToken(params: unknown, name: string | undefined): string | undefined {
  if (name === undefined || params === null || typeof params !== 'object') return undefined;
  const value = (params as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
