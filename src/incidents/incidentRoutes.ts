import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncidentDetailResponse, IncidentResponse, IncidentsResponse } from '../api/incidents.js';
import { z } from 'zod';
import { signReport } from '../integrity/reportSignature.js';
import { buildIncidentBundle, type BundleSources } from './incidentBundle.js';
import { reviewMarkdown } from './incidentReview.js';
import type { Incidents } from './incidents.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import { incidentSeverities, incidentStates, type Incident } from '../model/incident.js';
import { parseLokiTime } from '../query/lokiParams.js';
import type { LokiStream } from '../query/readMasking.js';
import { parseJsonBody } from '../formats/jsonBody.js';

export interface IncidentRouteDeps {
  incidents: Incidents;
  bundle: Omit<BundleSources, 'showsStoredLines'>;
  signer: NoteSigner;
}

const text = (max: number) => z.string().trim().min(1).max(max);
const openBody = z
  .object({ title: text(200), severity: z.enum(incidentSeverities).default('high'), owner: z.string().trim().max(200).optional() })
  .strict();
const noteBody = z.object({ text: text(10_000) }).strict();
const stateBody = z.object({ state: z.enum(incidentStates), reason: z.string().max(2000).optional() }).strict();
const updateBody = z
  .object({ owner: z.string().trim().max(200).optional(), severity: z.enum(incidentSeverities).optional(), title: text(200).optional() })
  .strict();
const note = z.string().max(2000).optional();
/** One schema per kind of pin; a line is named by its record id or as Explore shows it. */
const pinBodies = {
  line: z.union([
    z.object({ kind: z.literal('line'), record: text(300), note }).strict(),
    z
      .object({
        kind: z.literal('line'),
        timestamp_ns: z.string().regex(/^\d{1,19}$/, 'Unix nanoseconds'),
        line: z.string().max(1_000_000),
        service: z.string().max(300).optional(),
        note,
      })
      .strict(),
  ]),
  query: z.object({ kind: z.literal('query'), query: text(10_000), from: text(64), to: text(64), note }).strict(),
  trace: z.object({ kind: z.literal('trace'), trace_id: z.string().regex(/^[0-9a-fA-F]{1,64}$/, 'a hex trace id'), note }).strict(),
  pattern: z.object({ kind: z.literal('pattern'), service: z.string().max(300), pattern: text(10_000), note }).strict(),
};
const pinKind = z.object({ kind: z.enum(['line', 'query', 'trace', 'pattern']) });

const isoTime = (value: string, name: string) => new Date(Number(parseLokiTime(value, 0n, name) / 1_000_000n)).toISOString();

/**
 * The incident workspace (docs/incidents.md) for the request's tenant: list,
 * open, show, notes, state, owner/severity, pins, the post-incident review
 * and the signed export. Every change is audited as incident.*; another
 * tenant's incident is not found.
 */
export function incidentRoutes(app: FastifyInstance, deps: IncidentRouteDeps): void {
  const { incidents } = deps;
  const audited = { config: { permission: 'query', tenancy: 'request', auditedByRoute: true } } as const;

  /** Pinned lines are shown as Loki answers are: masked for a reader without unmask. */
  const masked = async (request: FastifyRequest, list: Incident[]): Promise<Incident[]> => {
    const holders = list
      .flatMap((incident) => [
        ...incident.pins,
        ...incident.timeline.map((entry) => entry.detail.pin as { kind?: string; line?: unknown } | undefined),
      ])
      .filter((holder): holder is { kind: 'line'; line: string } => holder?.kind === 'line' && typeof holder.line === 'string');
    const streams: LokiStream[] = holders.map((holder) => ({ stream: {}, values: [['0', holder.line]] }));
    await request.readPolicy.streams(streams);
    holders.forEach((holder, i) => (holder.line = streams[i]!.values[0]![1]));
    return list;
  };

  app.get<{ Querystring: { state?: string }; Reply: IncidentsResponse }>(
    '/api/v1/incidents',
    { config: { permission: 'query', tenancy: 'request' } },
    async (request) => {
      const all = await incidents.list(request.tenant);
      const chosen = request.query.state ? all.filter((incident) => incident.state === request.query.state) : all;
      return { incidents: (await masked(request, chosen)).map(({ timeline: _timeline, ...incident }) => incident) };
    },
  );

  app.post<{ Reply: IncidentResponse }>('/api/v1/incidents', audited, async (request, reply) => {
    const body = parseJsonBody(openBody, request.body);
    return reply.code(201).send({ incident: await incidents.open(request.tenant, body, request.identity!, request.ip) });
  });

  app.get<{ Params: { id: string }; Reply: IncidentDetailResponse }>(
    '/api/v1/incidents/:id',
    { config: { permission: 'query', tenancy: 'request' } },
    async (request) => {
      const [incident] = await masked(request, [await incidents.get(request.tenant, request.params.id)]);
      return { incident, hold: { holds_pins: incidents.holds(incident!), hold_after_resolve_ms: incidents.holdAfterResolveMs } };
    },
  );

  app.patch<{ Params: { id: string }; Reply: IncidentResponse }>('/api/v1/incidents/:id', audited, async (request) => {
    const body = parseJsonBody(updateBody, request.body);
    return { incident: await incidents.update(request.tenant, request.params.id, body, request.identity!, request.ip) };
  });

  app.post<{ Params: { id: string }; Reply: IncidentResponse }>('/api/v1/incidents/:id/notes', audited, async (request, reply) => {
    const body = parseJsonBody(noteBody, request.body);
    return reply
      .code(201)
      .send({ incident: await incidents.note(request.tenant, request.params.id, body.text, request.identity!, request.ip) });
  });

  app.post<{ Params: { id: string }; Reply: IncidentResponse }>('/api/v1/incidents/:id/state', audited, async (request) => {
    const body = parseJsonBody(stateBody, request.body);
    return {
      incident: await incidents.setState(request.tenant, request.params.id, body.state, request.identity!, request.ip, body.reason),
    };
  });

  app.post<{ Params: { id: string }; Reply: IncidentResponse }>('/api/v1/incidents/:id/pins', audited, async (request, reply) => {
    const { kind } = parseJsonBody(pinKind.passthrough(), request.body);
    const body = parseJsonBody<z.infer<(typeof pinBodies)[typeof kind]>>(pinBodies[kind], request.body);
    const pin = body.kind === 'query' ? { ...body, from: isoTime(body.from, 'from'), to: isoTime(body.to, 'to') } : body;
    const [incident] = await masked(request, [await incidents.pin(request.tenant, request.params.id, pin, request.identity!, request.ip)]);
    return reply.code(201).send({ incident });
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/incidents/:id/review',
    { config: { permission: 'query', tenancy: 'request' } },
    async (request, reply) => {
      const [incident] = await masked(request, [await incidents.get(request.tenant, request.params.id)]);
      return reply.type('text/markdown; charset=utf-8').send(reviewMarkdown(incident!));
    },
  );

  // The export reads records: audited as incident.export (and on the timeline), not as a plain query.
  app.get<{ Params: { id: string } }>('/api/v1/incidents/:id/export', audited, async (request, reply) => {
    const identity = request.identity!;
    const [incident] = await masked(request, [await incidents.get(request.tenant, request.params.id)]);
    const showsStoredLines = request.readPolicy.showsStored;
    const bundle = signReport(
      await buildIncidentBundle(incident!, { ...deps.bundle, showsStoredLines }, { id: identity.id, name: identity.name }),
      deps.signer,
    );
    const json = JSON.stringify(bundle, null, 2);
    const sha256 = createHash('sha256').update(json).digest('hex');
    await incidents.recordExport(request.tenant, incident!.id, identity, request.ip, { records: bundle.records.length, sha256 });
    return reply
      .type('application/json')
      .header('content-disposition', `attachment; filename="incident-${incident!.id}.json"`)
      .header('x-meshlog-bundle-sha256', sha256)
      .send(json);
  });
}
