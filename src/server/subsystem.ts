import type { FastifyPluginAsync } from 'fastify';

/**
 * What MeshlogServer composes: a part of meshlog built from its config
 * section, in its own layer's folder (e.g. `alerting/alertingSubsystem.ts`).
 * Each subsystem module returns this shape (structurally: lower layers do not
 * import the server); the server starts them in order and stops them in
 * reverse. Each of its routes declares its permission and tenancy where it
 * is registered (`config: { permission, tenancy }`, see
 * `security/routeAccess.ts`); one that does not stops the server at start.
 */
export interface Subsystem {
  /** Its routes, each with its own permission; the server registers them on the HTTP app. */
  routes?: FastifyPluginAsync;
  /** Its timers start once the server takes requests. */
  start?: () => void | Promise<void>;
  /** Stops its timers and lets what they started finish. */
  stop?: () => Promise<void>;
}
