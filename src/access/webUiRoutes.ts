import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `vite build` puts the UI (web/vite.config.ts), beside the compiled server. */
export const defaultWebRoot = fileURLToPath(new URL('../../web/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The UI runs only its own code and talks only to this server. */
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** Every built file, read once: the UI is small and never changes while the server runs. */
function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else
        assets.set(relative(root, path).split(sep).join('/'), {
          body: readFileSync(path),
          type: contentTypes[extname(name)] ?? 'application/octet-stream',
        });
    }
  };
  if (existsSync(root)) walk(root);
  return assets;
}

const acceptsHtml = (accept: string | string[] | undefined) => typeof accept === 'string' && accept.includes('text/html');

/**
 * The web UI on the HTTP port: `/` for browsers (anything else asking for
 * `/` still gets the Elasticsearch handshake shippers need), pages under
 * `/ui/…` (all answered with index.html, the UI routes itself), hashed
 * assets under `/ui/assets/`. Public: the pages hold no data; every API
 * call they make is authenticated.
 */
export function webUiRoutes(app: FastifyInstance, root: string = defaultWebRoot): void {
  const assets = loadAssets(root);
  const index = assets.get('index.html');

  app.addConstraintStrategy({
    name: 'page',
    storage() {
      const handlers = new Map<string, unknown>();
      return {
        get: (value: string) => handlers.get(value) ?? null,
        set: (value: string, handler: unknown) => void handlers.set(value, handler),
      };
    },
    deriveConstraint: (request) => (acceptsHtml(request.headers.accept) ? 'html' : undefined),
    mustMatchWhenDerived: false,
  } as Parameters<FastifyInstance['addConstraintStrategy']>[0]);

  const sendIndex = (reply: FastifyReply) => {
    reply.headers(securityHeaders).header('cache-control', 'no-cache');
    if (!index) return reply.code(503).type('text/plain; charset=utf-8').send('the web UI is not built: run npm run build\n');
    return reply.type(index.type).send(index.body);
  };
  const config = { permission: 'public' as const };

  app.get('/', { constraints: { page: 'html' }, config }, async (_request, reply) => sendIndex(reply));
  app.get('/ui', { config }, async (_request, reply) => sendIndex(reply));
  const sendAsset = (reply: FastifyReply, path: string) => {
    const asset = assets.get(path);
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('no such asset\n');
    // Asset names carry a content hash: a name never changes meaning.
    return reply.headers(securityHeaders).header('cache-control', 'public, max-age=31536000, immutable').type(asset.type).send(asset.body);
  };
  app.get<{ Params: { '*': string } }>('/ui/*', { config }, async (request, reply) => {
    const path = request.params['*'];
    return path.startsWith('assets/') ? sendAsset(reply, path) : sendIndex(reply);
  });
  // Static files browsers ask for on their own: public and never audited (an unknown path would be an unauthenticated admin request, in the trail).
  app.get<{ Params: { '*': string } }>('/assets/*', { config }, async (request, reply) =>
    sendAsset(reply, `assets/${request.params['*']}`),
  );
  app.get('/favicon.ico', { config }, async (_request, reply) =>
    assets.has('favicon.ico') ? sendAsset(reply, 'favicon.ico') : reply.code(204).send(),
  );
}
