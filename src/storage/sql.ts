/** A parameterised statement: `{name:Type}` placeholders in `sql`, their values in `params`. */
export interface CompiledSql {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * What a statement's runner needs of a query's deadline and cancellation
 * (the query layer's QueryBudget): check before, stop at its signal, and
 * yield the event loop between slices of rows.
 */
export interface SqlBudget {
  readonly signal: AbortSignal;
  check(): void;
  remainingMs(): number;
  due(): boolean;
  yield(): Promise<void>;
}

export interface SqlRunner {
  /** With a budget, the SQL stops at its deadline or when it is cancelled. */
  run<T>(compiled: CompiledSql, budget?: SqlBudget): Promise<T[]>;
}
