import { MeshlogError } from '../errors.js';

/**
 * How deep a value inside one record may nest (objects and arrays in JSON,
 * kvlist/array AnyValues in OTLP, maps and arrays in msgpack): the same 100
 * as protoc's and protobufjs's recursion limit. Deeper records are refused
 * (400 naming the limit, or that record alone where the protocol answers per
 * record), never overflowing the stack into a 5xx.
 */
export const maxNestingDepth = 100;

export const nestingRefusal = `nested deeper than ${maxNestingDepth} levels (the limit)`;

/** The error a whole request gets when it nests too deeply. */
export function nestingError(where: string): MeshlogError {
  return new MeshlogError('ML_DECODE', `${where} ${nestingRefusal}`);
}

/** Whether a parsed value (plain objects, arrays, typed arrays as leaves) nests deeper than `limit`; iterative, so any depth is safe. */
export function nestsDeeperThan(value: unknown, limit = maxNestingDepth): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > limit) return true;
    if (ArrayBuffer.isView(node)) continue;
    const children = Array.isArray(node) ? node : node instanceof Map ? [...node.values()] : Object.values(node as object);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** Throws ML_DECODE naming the limit when `value` nests too deeply. */
export function assertNesting(value: unknown, where: string): void {
  if (nestsDeeperThan(value)) throw nestingError(where);
}

/** A stack overflow is what unbounded nesting in input causes: told as the input's fault. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}
