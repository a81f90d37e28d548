import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PatternsResponse } from '../../api/patterns.js';
import { MeshlogError } from '../../errors.js';
import { compileBuckets, compileSelectorBuckets, type BucketRow } from '../logql/compiler.js';
import { labelNameOf } from '../logql/labelName.js';
import type { LokiStream } from '../readMasking.js';
import { sensitiveMarkAttribute } from '../../pipeline/redactionStage.js';
import type { CompiledSql } from '../../storage/sql.js';
import type { SqlRunner } from '../../storage/sql.js';
import { parseLogql } from '../logql/parser.js';
import { parseLokiDuration, parseRange, parseLimit } from '../lokiParams.js';
import type { PatternStore } from '../../storage/stores/patternStore.js';
import type { ErrorFormatter } from '../../http/errorReply.js';

export interface PatternRouteDeps {
  runner: SqlRunner;
  database: string;
  store: PatternStore;
}

const lokiErrorFormatter: ErrorFormatter = (error) => ({ contentType: 'text/plain; charset=utf-8', body: error.message });

function queryParams(request: FastifyRequest): Record<string, string | undefined> {
  const raw = request.query as Record<string, string | string[] | undefined>;
  return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]));
}

/**
 * Mined log templates: Loki's `/loki/api/v1/patterns` (counts of each
 * pattern of the selected streams per step, as Grafana Logs Drilldown reads
 * them) and `/api/v1/patterns` (top patterns, or new ones, per service).
 */
export function patternRoutes(app: FastifyInstance, deps: PatternRouteDeps): void {
  app.get(
    '/loki/api/v1/patterns',
    { config: { permission: 'query', tenancy: 'request', formatError: lokiErrorFormatter } },
    async (request) => {
      const query = queryParams(request);
      if (!query.query) throw new MeshlogError('ML_QUERY_INVALID', 'missing required parameter "query"');
      const expr = parseLogql(query.query);
      if (expr.kind !== 'log')
        throw new MeshlogError('ML_QUERY_INVALID', 'patterns need a log query (a stream selector with optional line filters)');
      const { startNs, endNs } = parseRange(query);
      const stepNs = query.step ? parseLokiDuration(query.step, 'step') : 10_000_000_000n;
      if (stepNs <= 0n) throw new MeshlogError('ML_QUERY_INVALID', 'step must be positive');
      if ((endNs - startNs) / stepNs > 11_000n) throw new MeshlogError('ML_QUERY_INVALID', 'too many points: widen the step');
      // Buckets end at origin + k·step: start one step early so the first bucket begins at `start`.
      const buckets = { originNs: startNs - 1n, widthNs: stepNs };
      const scope = { database: deps.database, tenant: request.tenant, startNs, endNs };
      const masked = request.readPolicy.queryMasking?.labels;
      let compiled: CompiledSql;
      if (masked) {
        // The selector matches masked labels as this reader sees them; a line filter would match stored lines.
        if (expr.stages.length > 0)
          throw new MeshlogError('ML_QUERY_INVALID', 'patterns for a reader who sees masked values take a stream selector only');
        compiled = compileSelectorBuckets({ ...scope, masked }, expr.selector, { ...buckets, groupBy: 'pattern_id' });
      } else {
        const log = compileBuckets(expr, scope, { ...buckets, groupBy: ['pattern_id'] });
        if (log.residual.length > 0) throw new MeshlogError('ML_QUERY_INVALID', 'patterns take a stream selector and line filters only');
        compiled = log;
      }
      const rows = await deps.runner.run<BucketRow>(compiled);
      const samples = new Map<string, [number, number][]>();
      for (const row of rows) {
        const id = row.g[0];
        if (id === '') continue;
        const bucketStartNs = startNs + (BigInt(row.bucket) - 1n) * stepNs;
        samples.set(id, [...(samples.get(id) ?? []), [Number(bucketStartNs / 1_000_000_000n), Number(row.entries)]]);
      }
      const templates = await deps.store.byIds(request.tenant, [...samples.keys()]);
      const shown = await shownTemplates(
        request,
        [...templates].map(([id, pattern]) => [id, pattern.template]),
      );
      const data = [...samples]
        .filter(([id]) => templates.has(id))
        .map(([id, points]) => ({ pattern: shown.get(id)!, samples: points.sort((a, b) => a[0] - b[0]) }))
        // Ties in the order of what is shown: pattern ids are digests of stored templates, which a masked reader may not tell apart.
        .sort((a, b) => total(b.samples) - total(a.samples) || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0));
      return { status: 'success', data };
    },
  );

  app.get('/api/v1/patterns', { config: { permission: 'query', tenancy: 'request' } }, async (request): Promise<PatternsResponse> => {
    const query = queryParams(request);
    const firstSeenSinceMs = query.new_since
      ? Date.now() - Number(parseLokiDuration(query.new_since, 'new_since') / 1_000_000n)
      : undefined;
    const patterns = await deps.store.list(request.tenant, {
      serviceName: query.service,
      firstSeenSinceMs,
      limit: parseLimit(query.limit, 100, 10_000),
    });
    const shown = await shownTemplates(
      request,
      patterns.map((pattern) => [pattern.patternId, pattern.template]),
    );
    return {
      patterns: patterns.map((pattern) => ({
        service_name: pattern.serviceName,
        pattern_id: pattern.patternId,
        template: shown.get(pattern.patternId)!,
        count: pattern.count,
        first_seen: new Date(pattern.firstSeenMs).toISOString(),
        last_seen: new Date(pattern.lastSeenMs).toISOString(),
      })),
    };
  });
}

/**
 * Templates, by pattern id, as the reader may see them: mined from stored lines, they are
 * masked as lines are, and as if observe-mode redaction had marked them (any line may have been).
 */
async function shownTemplates(request: FastifyRequest, templates: [string, string][]): Promise<Map<string, string>> {
  const streams: LokiStream[] = templates.map(([id, template]) => ({
    stream: { [labelNameOf(sensitiveMarkAttribute)]: 'pattern' },
    values: [[id, template]],
  }));
  await request.readPolicy.streams(streams);
  return new Map(streams.map((stream) => [stream.values[0]![0], stream.values[0]![1]]));
}

function total(samples: [number, number][]): number {
  return samples.reduce((sum, [, count]) => sum + count, 0);
}
