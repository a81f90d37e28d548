import type { FastifyInstance } from 'fastify';
import { httpIngestRoute } from './httpIngestRoute.js';
import type { IngestContext } from './ingestContext.js';
import { datadogLogs } from './sources/datadog/datadogLogsRoute.js';
import {
  elasticBulk,
  elasticCreateDocument,
  elasticIndexDocument,
  elasticsearchApiRoutes,
} from './sources/elasticsearch/elasticsearchRoute.js';
import { lokiPush } from './sources/loki/lokiPushRoute.js';
import { otlpLogs } from './sources/otlp/otlpLogsRoute.js';
import { otlpTraces } from './sources/otlp/otlpTracesRoute.js';
import { splunkHecRoutes } from './sources/splunk/splunkHecRoute.js';
import { zipkinSpans } from './sources/zipkin/zipkinSpansRoute.js';

/** Every HTTP ingest API, each under its protocol's standard path, all through the one ingest route. */
export function registerIngestRoutes(app: FastifyInstance, ingest: IngestContext): void {
  httpIngestRoute(app, ingest, otlpLogs);
  httpIngestRoute(app, ingest, lokiPush);
  httpIngestRoute(app, ingest, elasticBulk);
  httpIngestRoute(app, ingest, elasticIndexDocument);
  httpIngestRoute(app, ingest, elasticCreateDocument);
  elasticsearchApiRoutes(app);
  splunkHecRoutes(app, ingest);
  httpIngestRoute(app, ingest, datadogLogs);
  httpIngestRoute(app, ingest, otlpTraces);
  httpIngestRoute(app, ingest, zipkinSpans);
}
