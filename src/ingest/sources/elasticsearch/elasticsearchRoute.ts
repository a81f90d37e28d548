import type { FastifyInstance, HTTPMethods, RouteShorthandOptions } from 'fastify';
import { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { decodeElasticBulk, type BulkItem, type DecodedBulk } from './elasticBulk.js';
import type { ErrorFormatter } from '../../../http/errorReply.js';
import { logSignal } from '../../distributor.js';
import type { HttpIngestProtocol, IngestPath } from '../../httpIngestRoute.js';
import type { Refused } from '../shared/timeWindow.js';
import { parseWellFormedJson } from '../../../formats/wellFormedText.js';

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

/** The handshake shippers make before their first _bulk, templates, refreshes: canned answers, no tenant's data. */
const handshake: RouteShorthandOptions = { ...options, config: { ...options.config, permission: 'ingest', tenancy: 'none' } };

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

/** Documents out of the time window get a per-item error, as Elasticsearch answers a bad document. */
function markRefused(decoded: DecodedBulk, refused: Refused<LogRecord>[]): void {
  if (refused.length === 0) return;
  const reasons = new Map(refused.map(({ index, reason }) => [index, reason]));
  for (const item of decoded.items) {
    const reason = item.record === undefined ? undefined : reasons.get(item.record);
    if (reason !== undefined) item.error = { type: 'document_parsing_exception', reason: `[@timestamp] ${reason}` };
  }
}

function esPaths(url: string, methods: HTTPMethods[]): IngestPath[] {
  return methods.map((method) => ({ url, method, options }));
}

type DecodedElastic = DecodedBulk & { invalid: number };

function decodeBulk(body: Buffer, index: string | undefined, tenant: string): DecodedElastic {
  const decoded = decodeElasticBulk(body, index, tenant, receiver);
  return { ...decoded, invalid: decoded.items.length - decoded.records.length };
}

/** Elasticsearch `_bulk` (POST or PUT, with or without an index in the path): one item result per action. */
export const elasticBulk: HttpIngestProtocol<LogRecord, DecodedElastic> = {
  receiver,
  signal: logSignal,
  paths: ['/_bulk', '/:index/_bulk'].flatMap((url) => esPaths(url, ['POST', 'PUT'])),
  formatError: elasticErrorFormatter,
  decode: (body, request) => decodeBulk(body, (request.params as { index?: string }).index, request.tenant),
  reply: (decoded, { refused }, _request, reply) => {
    markRefused(decoded, refused);
    const failed = decoded.items.filter((item) => item.error).length;
    const items = decoded.items.map((item, position) => bulkItemJson(item, position));
    // Key order and compact JSON matter: Fluent Bit searches for `"errors":false,"items":[`.
    const took = Math.floor(reply.elapsedTime);
    return reply.type('application/json').send(JSON.stringify({ took, errors: failed > 0, items }));
  },
};

/**
 * Elasticsearch's single-document APIs, as the clients' `index()` and
 * `create()` and pino-elasticsearch call them: `POST /<index>/_doc`,
 * `PUT|POST /<index>/_doc/<id>`, `PUT|POST /<index>/_create/<id>`. Each is the
 * one-action `_bulk` it means (same decoding, checks and commit), answered as
 * Elasticsearch answers the single call: 201 with `_index`, `_id`,
 * `result: created`… and a Location header, or the item's error with its
 * status. meshlog is append-only: indexing an `_id` again is stored once, as
 * a redelivery.
 */
function documentProtocol(action: 'index' | 'create', paths: IngestPath[]): HttpIngestProtocol<LogRecord, DecodedElastic> {
  return {
    ...elasticBulk,
    paths,
    decode: (body, request) => {
      const { index, id } = request.params as { index: string; id?: string };
      let document: unknown;
      try {
        document = parseWellFormedJson(body.toString('utf8'));
      } catch (error) {
        throw new MeshlogError('ML_DECODE', `failed to parse the document: ${(error as Error).message}`);
      }
      // One line, whatever the client's formatting: the bulk decoder reads one document per line.
      const meta = id === undefined ? { _index: index } : { _index: index, _id: id };
      return decodeBulk(Buffer.from(`${JSON.stringify({ [action]: meta })}\n${JSON.stringify(document)}\n`), index, request.tenant);
    },
    reply: (decoded, { refused }, _request, reply) => {
      markRefused(decoded, refused);
      const { status, error, ...result } = Object.values(bulkItemJson(decoded.items[0], 0))[0] as {
        status: number;
        error?: { type: string; reason: string };
        _index?: string;
        _id?: string;
      };
      if (error)
        return reply
          .code(status)
          .type('application/json')
          .send(JSON.stringify({ error: { root_cause: [error], ...error }, status }));
      if (status === 201 && result._index !== undefined && result._id !== undefined)
        reply.header('Location', `/${result._index}/_doc/${encodeURIComponent(result._id)}`);
      return reply.code(status).type('application/json').send(JSON.stringify(result));
    },
  };
}

export const elasticIndexDocument = documentProtocol('index', [
  ...esPaths('/:index/_doc', ['POST']),
  ...esPaths('/:index/_doc/:id', ['PUT', 'POST']),
]);
export const elasticCreateDocument = documentProtocol('create', esPaths('/:index/_create/:id', ['PUT', 'POST']));

/**
 * The calls Filebeat, Logstash, Fluent Bit and the clients make before
 * `_bulk` (version, license, templates, ILM, health), answered as an
 * Elasticsearch that already has what they would install.
 */
export function elasticsearchApiRoutes(app: FastifyInstance): void {
  app.get('/', handshake, async () => clusterInfo);
  app.get('/_license', handshake, async () => ({ license }));
  app.get('/_xpack', handshake, async () => ({
    build: { hash: clusterInfo.version.build_hash, date: clusterInfo.version.build_date },
    license: { uid: license.uid, type: license.type, mode: license.type, status: license.status },
    features: { ilm: { available: true, enabled: true }, security: { available: true, enabled: true } },
  }));
  app.get('/_cluster/health', handshake, async () => ({
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
    app.get(url, handshake, async (request) => ({
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
    app.get(`${prefix}/:name`, handshake, async (request) => found((request.params as { name: string }).name));
    for (const method of ['PUT', 'POST', 'DELETE'] as const) {
      app.route({ method, url: `${prefix}/:name`, ...handshake, handler: async () => ({ acknowledged: true }) });
    }
  }

  // Records are queryable once committed, before the answer: a refresh has nothing left to do.
  const refreshed = async () => ({ _shards: { total: 1, successful: 1, failed: 0 } });
  for (const url of ['/_refresh', '/:index/_refresh']) {
    app.get(url, handshake, refreshed);
    app.post(url, handshake, refreshed);
  }
}
