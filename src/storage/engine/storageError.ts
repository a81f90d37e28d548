import { randomBytes } from 'node:crypto';
import { MeshlogError } from '../../errors.js';

/**
 * An error of the storage engine, classified once where storage throws:
 * `unavailable` (the engine or the network failed: retrying may succeed) or
 * `refused` (the engine refused what was sent, as data or as a statement:
 * sending it again cannot succeed). Keeps ClickHouse's `code`.
 */
export class StorageError extends Error {
  override name = 'StorageError';
  readonly code: string | undefined;

  constructor(
    readonly kind: 'unavailable' | 'refused',
    cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.code = clickHouseCode(cause);
  }
}

/**
 * ClickHouse error codes that say "what you sent is wrong", not "I am down":
 * unparseable or out-of-range values, type mismatches, unknown columns,
 * statement errors. Everything else from storage (memory, disk, network,
 * timeouts of the connection, a closed engine) counts as an outage.
 */
const refusedCodes = new Set([
  6, // CANNOT_PARSE_TEXT
  16, // NO_SUCH_COLUMN_IN_TABLE
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  36, // BAD_ARGUMENTS
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  42, // NUMBER_OF_ARGUMENTS_DOESNT_MATCH
  43, // ILLEGAL_TYPE_OF_ARGUMENT
  46, // UNKNOWN_FUNCTION
  47, // UNKNOWN_IDENTIFIER
  53, // TYPE_MISMATCH
  62, // SYNTAX_ERROR
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  386, // NO_COMMON_TYPE
  407, // DECIMAL_OVERFLOW
  427, // CANNOT_COMPILE_REGEXP
  457, // BAD_QUERY_PARAMETER
  456, // UNKNOWN_QUERY_PARAMETER
]);

/** The numeric ClickHouse code of an error: the client's `code`, or `Code: N.` in chDB's message. */
function clickHouseCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return code;
  if (typeof code === 'number') return String(code);
  const match = /\bCode: (\d+)\b/.exec((error as Error)?.message ?? '');
  return match?.[1];
}

/** Wraps what storage threw; errors already classified (or meshlog's own) pass through. */
export function storageError(error: unknown): Error {
  if (error instanceof StorageError) return error;
  if (error instanceof Error && error.name === 'MeshlogError') return error;
  const code = clickHouseCode(error);
  return new StorageError(code !== undefined && refusedCodes.has(Number(code)) ? 'refused' : 'unavailable', error);
}

/**
 * A storage outage as a client is told of it: retryable, with ClickHouse's
 * code and an error id the server's log line carries beside the engine's
 * message. Never the message itself: for an insert it quotes the rows around
 * the failure, which in a group commit are other requests' and tenants'.
 */
export function storageOutage(error: unknown): MeshlogError {
  const code = clickHouseCode(error);
  return new MeshlogError('ML_UNAVAILABLE', code === undefined ? undefined : `engine error ${code}`, {
    cause: error,
    errorId: randomBytes(6).toString('hex'),
  });
}
