import type { FastifyPluginAsync } from 'fastify';

/**
 * What MeshlogServer composes: a part of meshlog built from its config
 * section, in its own layer's folder (e.g. `alerting/alertingSubsystem.ts`).
 * Each subsystem module returns this shape (structurally: lower layers do not
 * import the server); the server starts them in order and stops them in
 * reverse. Its routes' permissions stay in `security/routeAccess.ts`.
 */
export interface Subsystem {
  /** Its routes; the server registers them on the HTTP app. */
  routes?: FastifyPluginAsync;
  /** Its timers start once the server takes requests. */
  start?: () => void | Promise<void>;
  /** Stops its timers and lets what they started finish. */
  stop?: () => Promise<void>;
}
