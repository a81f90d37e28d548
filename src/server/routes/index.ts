import type { FastifyInstance } from 'fastify';
import type { IngestContext } from '../ingestContext.js';
import { datadogLogsRoute } from './datadogLogsRoute.js';
import { elasticsearchRoute } from './elasticsearchRoute.js';
import { lokiPushRoute } from './lokiPushRoute.js';
import { otlpLogsRoute } from './otlpLogsRoute.js';
import { otlpTracesRoute } from './otlpTracesRoute.js';
import { splunkHecRoute } from './splunkHecRoute.js';
import { zipkinSpansRoute } from './zipkinSpansRoute.js';

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
