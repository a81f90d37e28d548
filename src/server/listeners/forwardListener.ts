import { hostname } from 'node:os';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import type { MeshlogConfig } from '../../config/schema.js';
import { forwardExtensionCodec, forwardMessage } from '../../receivers/fluentForward.js';
import type { IngestContext } from '../ingestContext.js';
import type { Listener } from '../listener.js';
import { connectionTenant } from './connectionTenant.js';
import { ForwardHandshake } from './forwardHandshake.js';
import { TcpListener, type Connection } from './tcpListener.js';

const receiver = 'forward';
/** Chunks of one connection being committed at once; more waits (backpressure on the socket). */
const maxPendingChunks = 8;

/**
 * Fluentd forward on TCP (or TLS): msgpack messages decoded as they stream in,
 * committed, then acknowledged with `{"ack": chunk}` when the client asked.
 * Without an ack (commit failed, overload) the client resends the chunk.
 */
export function forwardListener(config: MeshlogConfig['forward'], host: string, ctx: IngestContext): Listener {
  const options = { tenant: config.tenant, receiver, maxDecompressedBytes: ctx.maxDecompressedBytes };
  const serverHostname = hostname();

  async function serve({ socket, logger, stopping, track, identity }: Connection): Promise<void> {
    const connectionOptions = { ...options, tenant: connectionTenant(identity, config.tls, config.tenant) };
    const handshake = config.shared_key === undefined ? undefined : new ForwardHandshake(config.shared_key, serverHostname);
    if (handshake) socket.write(encode(handshake.helo()));
    let authenticated = handshake === undefined;
    const pending = new Set<Promise<void>>();
    const limits = { maxStrLength: ctx.maxDecompressedBytes, maxBinLength: ctx.maxDecompressedBytes };
    try {
      // destroyOnReturn: false keeps the socket writable for acks after the client half-closes.
      const bytes = socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
      for await (const message of decodeMultiStream(bytes, { extensionCodec: forwardExtensionCodec, ...limits })) {
        if (stopping()) break;
        if (!authenticated) {
          const { pong, accepted, reason } = handshake!.answer(message);
          socket.write(encode(pong));
          if (!accepted) throw new Error(`handshake refused: ${reason}`);
          authenticated = true;
          continue;
        }
        // nil is a keepalive some clients send on idle connections.
        if (message === null) continue;
        const { records, chunk } = forwardMessage(message, connectionOptions);
        ctx.metrics.recordsReceived.inc({ receiver }, records.length);
        if (pending.size >= maxPendingChunks) await Promise.race(pending);
        const work = ctx.submit(records, receiver).then(
          () => {
            if (chunk !== undefined && !socket.destroyed) socket.write(encode({ ack: chunk }));
          },
          (error: unknown) => {
            ctx.metrics.recordsRejected.inc({ receiver, reason: 'commit' }, records.length);
            logger.warn({ chunk, records: records.length, reason: (error as Error).message }, 'forward chunk not committed; not acknowledged');
          },
        );
        pending.add(work);
        void work.finally(() => pending.delete(work));
        track(work);
      }
    } finally {
      // Acks for what was already read still go out before the connection ends.
      await Promise.allSettled([...pending]);
      ctx.metrics.bytesReceived.inc({ receiver }, socket.bytesRead);
    }
  }

  return new TcpListener('forward', { host, port: config.port, tls: config.tls, limits: ctx.connectionLimits }, ctx.logger, serve);
}
