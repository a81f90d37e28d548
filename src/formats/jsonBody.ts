import type { z } from 'zod';
import { MeshlogError } from '../errors.js';
import { parseWellFormedJson } from './wellFormedText.js';

/** A JSON request body (raw bytes, as every route gets them) validated by a zod schema; errors name the field. */
export function parseJsonBody<T>(schema: z.ZodType<T>, body: unknown): T {
  let json: unknown = body;
  if (Buffer.isBuffer(body)) {
    try {
      json = parseWellFormedJson(body.toString('utf8') || '{}');
    } catch (error) {
      throw new MeshlogError('ML_DECODE', `invalid JSON: ${(error as Error).message}`);
    }
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new MeshlogError(
      'ML_DECODE',
      result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '),
    );
  }
  return result.data;
}
