import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import { decodeElasticBulk, type BulkItem } from './elasticBulk.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import type { IngestContext } from '../../ingestContext.js';
import { decodeContentEncoding } from '../shared/requestBody.js';

const receiver = 'elasticsearch';
/** The Elasticsearch version meshlog presents: Filebeat, Logstash and the clients check the major. */
const version = '8.19.0';

/** The official clients refuse any answer without this header. */
const productHeader = { 'X-Elastic-Product': 'Elasticsearch' };

const errorTypes: Record<number, string> = {
  400: 'illegal_argument_exception',
  401: 'security_exception',
  413: 'content_too_long_exception',
  415: 'media_type_header_exception',
  429: 'es_rejected_execution_exception',
  503: 'unavailable_shards_exception',
};

/** Errors the way Elasticsearch spells them: `{"error":{"root_cause":[…],"type","reason"},"status"}`. */
const elasticErrorFormatter: ErrorFormatter = (error) => {
  const cause = { type: errorTypes[error.status] ?? 'exception', reason: error.message };
  const headers: Record<string, string> = { ...productHeader };
  if (error.status === 401) headers['WWW-Authenticate'] = 'Basic realm="security", charset="UTF-8", Bearer realm="security", ApiKey';
  return {
    contentType: 'application/json',
    body: JSON.stringify({ error: { root_cause: [cause], ...cause }, status: error.status }),
    headers,
  };
};

const options: RouteShorthandOptions = {
  config: { formatError: elasticErrorFormatter },
  onSend: async (_request, reply, payload) => {
    reply.headers(productHeader);
    return payload;
  },
};

const clusterInfo = {
  name: 'meshlog',
  cluster_name: 'meshlog',
  cluster_uuid: 'meshlog-elasticsearch-api',
  version: {
    number: version,
    build_flavor: 'default',
    build_type: 'meshlog',
    build_hash: '0000000000000000000000000000000000000000',
    build_date: '2026-01-01T00:00:00.000Z',
    build_snapshot: false,
    lucene_version: '9.12.0',
    minimum_wire_compatibility_version: '7.17.0',
    minimum_index_compatibility_version: '7.0.0',
  },
  tagline: 'You Know, for Search',
};

const license = {
  status: 'active',
  uid: 'meshlog',
  type: 'basic',
  issue_date: '2026-01-01T00:00:00.000Z',
  issue_date_in_millis: 1767225600000,
  max_nodes: 1000,
  max_resource_units: null,
  issued_to: 'meshlog',
  issuer: 'elasticsearch',
  start_date_in_millis: -1,
};

function bulkItemJson(item: BulkItem, seqNo: number): object {
  if (item.error) return { [item.action]: { _index: item.index, _id: item.id, status: 400, error: item.error } };
  return {
    [item.action]: {
      _index: item.index,
      _id: item.id,
      _version: 1,
      result: 'created',
      _shards: { total: 1, successful: 1, failed: 0 },
      _seq_no: seqNo,
      _primary_term: 1,
      status: 201,
    },
  };
}

/**
 * Elasticsearch: `_bulk` ingest plus the calls Filebeat, Logstash, Fluent Bit
 * and the clients make before it (version, license, templates, ILM, health),
 * answered as an Elasticsearch that already has what they would install.
 */
export function elasticsearchRoute(app: FastifyInstance, ctx: IngestContext): void {
  const bulk = async (request: FastifyRequest, reply: FastifyReply) => {
    const started = Date.now();
    const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    ctx.metrics.bytesReceived.inc({ receiver }, raw.length);
    const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
    const decoded = decodeElasticBulk(body, (request.params as { index?: string }).index, request.tenant, receiver);
    const invalid = decoded.items.length - decoded.records.length;
    if (invalid > 0) ctx.metrics.recordsRejected.inc({ receiver, reason: 'invalid' }, invalid);
    const { accepted, refused } = ctx.admit(decoded.records, receiver);
    if (refused.length > 0) {
      // A per-item error for each document out of the time window, as Elasticsearch answers a bad document.
      const reasons = new Map(refused.map(({ index, reason }) => [index, reason]));
      for (const item of decoded.items) {
        const reason = item.record === undefined ? undefined : reasons.get(item.record);
        if (reason !== undefined) item.error = { type: 'document_parsing_exception', reason: `[@timestamp] ${reason}` };
      }
      decoded.records = accepted;
    }
    const failed = decoded.items.filter((item) => item.error).length;
    ctx.metrics.recordsReceived.inc({ receiver }, decoded.records.length);
    if (decoded.records.length > 0) await ctx.submit(decoded.records, receiver);
    const items = decoded.items.map((item, position) => bulkItemJson(item, position));
    // Key order and compact JSON matter: Fluent Bit searches for `"errors":false,"items":[`.
    return reply.type('application/json').send(JSON.stringify({ took: Date.now() - started, errors: failed > 0, items }));
  };
  for (const url of ['/_bulk', '/:index/_bulk']) {
    app.post(url, options, bulk);
    app.put(url, options, bulk);
  }

  documentRoutes(app, ctx, bulk);

  app.get('/', options, async () => clusterInfo);
  app.get('/_license', options, async () => ({ license }));
  app.get('/_xpack', options, async () => ({
    build: { hash: clusterInfo.version.build_hash, date: clusterInfo.version.build_date },
    license: { uid: license.uid, type: license.type, mode: license.type, status: license.status },
    features: { ilm: { available: true, enabled: true }, security: { available: true, enabled: true } },
  }));
  app.get('/_cluster/health', options, async () => ({
    cluster_name: clusterInfo.cluster_name,
    status: 'green',
    timed_out: false,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    active_primary_shards: 0,
    active_shards: 0,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: 0,
  }));
  for (const url of ['/_nodes', '/_nodes/*']) {
    app.get(url, options, async (request) => ({
      _nodes: { total: 1, successful: 1, failed: 0 },
      cluster_name: clusterInfo.cluster_name,
      nodes: {
        meshlog: {
          name: clusterInfo.name,
          version,
          roles: ['master', 'data', 'ingest'],
          http: { publish_address: request.host },
        },
      },
    }));
  }

  // Setup calls: meshlog has no templates, policies or pipelines to install, so
  // every probe finds one and every install is acknowledged.
  const setupObjects: { prefix: string; found: (name: string) => object }[] = [
    {
      prefix: '/_index_template',
      found: (name) => ({ index_templates: [{ name, index_template: { index_patterns: [`${name}*`], template: {}, composed_of: [] } }] }),
    },
    { prefix: '/_component_template', found: (name) => ({ component_templates: [{ name, component_template: { template: {} } }] }) },
    {
      prefix: '/_template',
      found: (name) => ({ [name]: { order: 0, index_patterns: [`${name}*`], settings: {}, mappings: {}, aliases: {} } }),
    },
    { prefix: '/_ilm/policy', found: (name) => ({ [name]: { version: 1, modified_date: license.issue_date, policy: { phases: {} } } }) },
    { prefix: '/_ingest/pipeline', found: (name) => ({ [name]: { processors: [] } }) },
    { prefix: '/_alias', found: (name) => ({ [`${name}-000001`]: { aliases: { [name]: { is_write_index: true } } } }) },
    {
      prefix: '/_data_stream',
      found: (name) => ({ data_streams: [{ name, timestamp_field: { name: '@timestamp' }, status: 'GREEN', template: name }] }),
    },
  ];
  for (const { prefix, found } of setupObjects) {
    app.get(`${prefix}/:name`, options, async (request) => found((request.params as { name: string }).name));
    for (const method of ['PUT', 'POST', 'DELETE'] as const) {
      app.route({ method, url: `${prefix}/:name`, ...options, handler: async () => ({ acknowledged: true }) });
    }
  }
}

/** The single-document answer Elasticsearch gives (index and create APIs), from the one item of a bulk answer. */
function documentAnswer(bulkAnswer: string): { status: number; body: object } {
  const items = (
    JSON.parse(bulkAnswer) as {
      items: Record<string, { status: number; error?: { type: string; reason: string } } & Record<string, unknown>>[];
    }
  ).items;
  const { status, error, ...result } = Object.values(items[0])[0];
  if (error) return { status, body: { error: { root_cause: [error], ...error }, status } };
  return { status, body: result };
}

/**
 * Elasticsearch's single-document APIs, as the clients' `index()` and
 * `create()` and pino-elasticsearch call them: `POST /<index>/_doc`,
 * `PUT|POST /<index>/_doc/<id>`, `PUT|POST /<index>/_create/<id>`. Each is the
 * one-action `_bulk` it means, through the same handler (same decoding,
 * checks and commit), answered as Elasticsearch answers the single call:
 * 201 with `_index`, `_id`, `result: created`… and a Location header, or the
 * item's error with its status. meshlog is append-only: indexing an `_id`
 * again is stored once, as a redelivery.
 */
function documentRoutes(
  app: FastifyInstance,
  ctx: IngestContext,
  bulk: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
): void {
  const single = (action: 'index' | 'create'): RouteShorthandOptions => ({
    ...options,
    preHandler: async (request) => {
      const { index, id } = request.params as { index: string; id?: string };
      const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      const body = await decodeContentEncoding(raw, request.headers['content-encoding'], ctx.maxDecompressedBytes);
      delete request.headers['content-encoding'];
      let document: unknown;
      try {
        document = JSON.parse(body.toString('utf8'));
      } catch (error) {
        throw new MeshlogError('ML_DECODE', `failed to parse the document: ${(error as Error).message}`);
      }
      // One line, whatever the client's formatting: the bulk decoder reads one document per line.
      const meta = id === undefined ? { _index: index } : { _index: index, _id: id };
      request.body = Buffer.from(`${JSON.stringify({ [action]: meta })}\n${JSON.stringify(document)}\n`);
    },
    onSend: async (request, reply, payload) => {
      reply.headers(productHeader);
      if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
      const answer = documentAnswer(payload);
      reply.code(answer.status);
      const { _index, _id } = answer.body as { _index?: string; _id?: string };
      if (answer.status === 201 && _index !== undefined && _id !== undefined)
        reply.header('Location', `/${_index}/_doc/${encodeURIComponent(_id)}`);
      return JSON.stringify(answer.body);
    },
  });
  app.post('/:index/_doc', single('index'), bulk);
  for (const method of ['PUT', 'POST'] as const) {
    app.route({ method, url: '/:index/_doc/:id', ...single('index'), handler: bulk });
    app.route({ method, url: '/:index/_create/:id', ...single('create'), handler: bulk });
  }
  // Records are queryable once committed, before the answer: a refresh has nothing left to do.
  const refreshed = async () => ({ _shards: { total: 1, successful: 1, failed: 0 } });
  for (const url of ['/_refresh', '/:index/_refresh']) {
    app.get(url, options, refreshed);
    app.post(url, options, refreshed);
  }
}
