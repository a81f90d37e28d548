import net, { type AddressInfo, type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Identity } from '../../../security/identity.js';
import { clientCertificateIdentity, serverTlsOptions, type TlsFiles } from '../../../security/tlsOptions.js';
import type { Listener } from '../../listener.js';
import { ConnectionsPerAddress } from './connectionsPerAddress.js';

/** Abuse limits of one listener. */
export interface ConnectionLimits {
  /** Open connections; more are closed as they arrive. */
  maxConnections: number;
  /** Open connections from one client address; more from it are closed as they arrive (0 = no cap). */
  maxConnectionsPerAddress?: number;
  /** A connection with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
  /** A TLS handshake not finished in this time is dropped. */
  handshakeTimeoutMs: number;
}

/** How often refused connections are reported, at most. */
const dropReportIntervalMs = 60_000;

/** What a protocol handler gets for one connection. */
export interface Connection {
  socket: Socket;
  /** `address:port` of the peer, for log lines. */
  remote: string;
  /** Who a verified client certificate says the peer is, when `client_identities` maps it. */
  identity: Identity | undefined;
  logger: Logger;
  /** True once the listener stops: take no new messages (unacknowledged ones are resent by the client). */
  stopping(): boolean;
  /** Registers work (a submit and its ack) that stop() must wait for. */
  track(work: Promise<void>): void;
}

/**
 * A TCP (or TLS) listener that runs one protocol handler per connection.
 * A handler error closes only its own connection; stop() stops accepting,
 * waits for tracked work (so every accepted message is committed and acked),
 * then closes the remaining connections.
 */
export class TcpListener implements Listener {
  private server: net.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly work = new Set<Promise<void>>();
  private stopped = false;
  private dropped = 0;
  private droppedReportedAt = 0;
  private readonly perAddress: ConnectionsPerAddress;

  constructor(
    readonly name: string,
    private readonly options: { host: string; port: number; tls?: TlsFiles; limits?: ConnectionLimits },
    private readonly logger: Logger,
    private readonly handle: (connection: Connection) => Promise<void>,
  ) {
    this.perAddress = new ConnectionsPerAddress(options.limits?.maxConnectionsPerAddress ?? 0, (refused, address, max) =>
      logger.warn(
        { listener: name, refused, address, maxConnectionsPerAddress: max },
        'connections refused: client address at its connection limit',
      ),
    );
  }

  async start(): Promise<string> {
    const { host, port } = this.options;
    // Half-open: a client may shut down its side and still wait for acks.
    const serverOptions = { allowHalfOpen: true };
    const onConnection = (socket: Socket) => this.serve(socket);
    const files = this.options.tls;
    if (files) {
      const handshakeTimeout = this.options.limits?.handshakeTimeoutMs;
      const server = tls.createServer(
        { ...serverOptions, ...serverTlsOptions(files), ...(handshakeTimeout ? { handshakeTimeout } : {}) },
        onConnection,
      );
      // Counted at the TCP level, before the handshake: a client that never finishes its
      // handshakes must not take every slot for tls_handshake_timeout_ms either.
      const refused = new WeakSet<Socket>();
      server.prependListener('connection', (raw: Socket) => {
        if (!this.perAddress.admit(raw)) refused.add(raw);
      });
      // TLS handshake failures (plaintext clients, port scanners) never reach a handler.
      server.on('tlsClientError', (error, socket) => {
        // A connection refused above ends its handshake with a reset: already reported, once a minute.
        if (refused.has((socket as TLSSocket & { _parent?: Socket })._parent as Socket)) return;
        this.logger.warn(
          { listener: this.name, remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: error.message },
          'TLS handshake failed',
        );
      });
      this.server = server;
    } else {
      this.server = net.createServer(serverOptions, onConnection);
    }
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    if (this.options.limits) {
      this.server.maxConnections = this.options.limits.maxConnections;
      this.server.on('drop', () => this.reportDrop());
    }
    // After listening, a server error (EMFILE on accept…) is logged, never thrown at the process.
    this.server.on('error', (error) => this.logger.error({ listener: this.name, reason: error.message }, 'listener error'));
    const address = this.server.address() as AddressInfo;
    return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  private serve(socket: Socket): void {
    // TLS connections were counted before their handshake.
    if (!this.options.tls && !this.perAddress.admit(socket)) return;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const logger = this.logger.child({ listener: this.name, remote });
    this.sockets.add(socket);
    // Resets and other socket errors end this connection's read loop; they must not reach the process.
    socket.on('error', (error) => logger.debug({ reason: error.message }, 'connection error'));
    socket.once('close', () => this.sockets.delete(socket));
    const idleTimeoutMs = this.options.limits?.idleTimeoutMs;
    // An idle close is routine (tcp_idle_timeout_ms): the read loop it ends is not bad input.
    let idleClosed = false;
    if (idleTimeoutMs) {
      socket.setTimeout(idleTimeoutMs, () => {
        idleClosed = true;
        logger.debug({ idleTimeoutMs }, 'closing idle connection (tcp_idle_timeout_ms)');
        socket.destroy();
      });
    }
    const connection: Connection = {
      socket,
      remote,
      identity: clientCertificateIdentity(socket as TLSSocket, this.options.tls),
      logger,
      stopping: () => this.stopped,
      track: (work) => {
        this.work.add(work);
        void work.finally(() => this.work.delete(work));
      },
    };
    this.handle(connection).then(
      () => socket.end(),
      (error: NodeJS.ErrnoException) => {
        const peerGone = error.code === 'ECONNRESET' || error.code === 'EPIPE';
        if (!this.stopped && !peerGone && !idleClosed) logger.warn({ reason: error.message }, 'closing connection after bad input');
        socket.destroy();
      },
    );
  }

  /** Connections refused past maxConnections: one warning a minute with the count, not one per connection. */
  private reportDrop(): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.droppedReportedAt < dropReportIntervalMs) return;
    this.logger.warn(
      { listener: this.name, refused: this.dropped, maxConnections: this.options.limits?.maxConnections },
      'connections refused: listener at its connection limit',
    );
    this.dropped = 0;
    this.droppedReportedAt = now;
  }

  reloadCertificates(): string | undefined {
    const files = this.options.tls;
    if (!files || !(this.server instanceof tls.Server)) return undefined;
    this.server.setSecureContext(serverTlsOptions(files));
    return files.cert_file;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    // Work may be added while earlier work settles (a message decoded just before stop).
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
