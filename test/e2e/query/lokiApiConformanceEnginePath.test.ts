/**
 * The same conformance tables with query.pushdown off: ClickHouse runs only the
 * stream selector, line filters and stream-label filters, the query engine the
 * rest. Both paths must give Loki's answers (docs/querying.md).
 */
process.env.MESHLOG_QUERY_PUSHDOWN = 'false';
await import('./lokiApiConformance.test.js');
