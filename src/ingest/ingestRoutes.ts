import type { FastifyInstance } from 'fastify';
import type { IngestContext } from './ingestContext.js';
import { datadogLogsRoute } from './sources/datadog/datadogLogsRoute.js';
import { elasticsearchRoute } from './sources/elasticsearch/elasticsearchRoute.js';
import { lokiPushRoute } from './sources/loki/lokiPushRoute.js';
import { otlpLogsRoute } from './sources/otlp/otlpLogsRoute.js';
import { otlpTracesRoute } from './sources/otlp/otlpTracesRoute.js';
import { splunkHecRoute } from './sources/splunk/splunkHecRoute.js';
import { zipkinSpansRoute } from './sources/zipkin/zipkinSpansRoute.js';

/** Every HTTP ingest API, each under its protocol's standard path. */
export function registerIngestRoutes(app: FastifyInstance, ingest: IngestContext): void {
  otlpLogsRoute(app, ingest);
  lokiPushRoute(app, ingest);
  elasticsearchRoute(app, ingest);
  splunkHecRoute(app, ingest);
  datadogLogsRoute(app, ingest);
  otlpTracesRoute(app, ingest);
  zipkinSpansRoute(app, ingest);
}
