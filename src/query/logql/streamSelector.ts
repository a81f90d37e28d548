import { MeshlogError } from '../../errors.js';
import type { LabelMatcher } from './ast.js';
import { parseLogql } from './parser.js';

/** A bare LogQL stream selector such as {service_name="checkout"}: no pipeline stages, no metric. */
export function parseStreamSelector(text: string): LabelMatcher[] {
  const expr = parseLogql(text);
  if (expr.kind !== 'log' || expr.stages.length > 0) throw new MeshlogError('ML_QUERY_INVALID', `"${text}" is not a stream selector`);
  return expr.selector;
}
