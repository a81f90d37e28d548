import dgram from 'node:dgram';
import type { MeshlogConfig } from '../../../config/schema.js';
import type { MeshlogError } from '../../../errors.js';
import type { LogRecord } from '../../../model/logRecord.js';
import { senderTimeZones } from '../../../formats/senderTimeZones.js';
import { syslogRecord } from '../../../formats/syslog.js';
import { SyslogFrameReader } from './syslogFraming.js';
import { countBytes, receiveRestamped } from '../../distributor.js';
import type { IngestContext } from '../../ingestContext.js';
import type { Listener } from '../../listener.js';
import { connectionTenant } from '../shared/connectionTenant.js';
import { ConnectionPacing, submitWithRetry } from '../shared/streamBackpressure.js';
import { TcpListener, type Connection } from '../shared/tcpListener.js';

/** Longest syslog message taken whole; longer lines are cut (rsyslog's own default is 8 KiB). */
const maxMessageBytes = 256 * 1024;
/**
 * A record with no terminator yet is taken as complete once its connection has
 * been silent this long, from a sender that has sent records back to back with
 * nothing between them (winston-syslog's default); the next header or the end
 * of the connection would otherwise be needed. Anyone else's line waits for
 * its LF: a slow sender's line is never cut short by a pause.
 */
const unterminatedAfterMs = 1_000;
/** Batches of one connection being committed at once; more waits (TCP backpressure on the sender). */
const maxPendingBatches = 4;

const nowNanos = () => BigInt(Date.now()) * 1_000_000n;

function streamListener(name: string, port: number, host: string, config: MeshlogConfig['syslog'], ctx: IngestContext): Listener {
  const zoneOf = senderTimeZones(config.sender_timezones, config.timezone);
  async function serve(connection: Connection): Promise<void> {
    const { socket, remote, logger, stopping, identity } = connection;
    let tenant: string;
    try {
      tenant = connectionTenant(identity, name === 'syslog_tls' ? config.tls : undefined, config.tenant);
    } catch (error) {
      // A certificate outside tls.client_identities: refused, audited and counted like any failed credential.
      logger.info({ reason: (error as Error).message }, 'syslog connection refused: client certificate not allowed to ingest');
      const event = {
        action: (error as MeshlogError).code === 'ML_AUTH_INVALID' ? 'auth.failure' : 'access.denied',
        actor: identity,
        target: name,
        detail: { reason: (error as Error).message, protocol: name, method: 'client_certificate' },
      };
      // Only a certificate no identity maps is a failed credential; one mapped without ingest is an access denial.
      if ((error as MeshlogError).code === 'ML_AUTH_INVALID') await ctx.authFailures?.failed(socket.remoteAddress ?? '', event);
      else await ctx.authFailures?.denied(socket.remoteAddress ?? '', event);
      return;
    }
    const reader = new SyslogFrameReader(maxMessageBytes);
    // Syslog has no acknowledgement: a certificate over its rate is slowed down (reading paused: TCP
    // backpressure), never dropped. Each batch of messages read at once counts as one request.
    const pacing = new ConnectionPacing(ctx, connection, 'syslog', maxPendingBatches);
    const timeZone = zoneOf(socket.remoteAddress);
    const source = () => ({ tenant, receiver: name, peer: remote, receivedUnixNano: nowNanos(), timeZone });
    const submit = async (frames: string[]) => {
      if (frames.length === 0) return;
      const received = source();
      const records = frames.map((frame) => syslogRecord(frame, received));
      receiveRestamped(ctx, name, records);
      await pacing.submit(
        identity,
        () => submitWithRetry(ctx, records, name, stopping),
        (error) => {
          ctx.metrics.recordsRejected.inc({ receiver: name, reason: 'commit' }, records.length);
          logger.error({ records: records.length, reason: (error as Error).message }, 'syslog messages not committed');
        },
      );
    };
    let silence: NodeJS.Timeout | undefined;
    const onSilence = () => {
      const record = reader.unterminated();
      if (record !== undefined)
        submit([record]).catch((error: unknown) => logger.error({ reason: (error as Error).message }, 'syslog record not committed'));
    };
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        clearTimeout(silence);
        if (stopping()) return;
        await submit(reader.push(chunk));
        silence = setTimeout(onSilence, unterminatedAfterMs);
      }
      clearTimeout(silence);
      await submit(reader.end());
    } finally {
      clearTimeout(silence);
      await pacing.settled();
      countBytes(ctx, name, socket.bytesRead);
    }
  }
  return new TcpListener(
    name,
    { host, port, tls: name === 'syslog_tls' ? config.tls : undefined, limits: ctx.connectionLimits },
    ctx.logger,
    serve,
  );
}

/** Syslog over UDP: one message per datagram, committed in small batches. */
class SyslogUdpListener implements Listener {
  readonly name = 'syslog_udp';
  private socket: dgram.Socket | undefined;
  private batch: LogRecord[] = [];
  private readonly work = new Set<Promise<void>>();
  private readonly zoneOf: (address: string) => string;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly config: MeshlogConfig['syslog'],
    private readonly ctx: IngestContext,
  ) {
    this.zoneOf = senderTimeZones(config.sender_timezones, config.timezone);
  }

  async start(): Promise<string> {
    const socket = dgram.createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    this.socket = socket;
    socket.on('message', (message, remote) => this.receive(message, `${remote.address}:${remote.port}`, this.zoneOf(remote.address)));
    socket.on('error', (error) => this.ctx.logger.error({ listener: this.name, reason: error.message }, 'syslog UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, this.host, () => resolve());
    });
    const address = socket.address();
    return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  private receive(message: Buffer, peer: string, timeZone: string): void {
    countBytes(this.ctx, this.name, message.length);
    const line = message.toString('utf8').replace(/[\r\n\0]+$/, '');
    if (line.length === 0) return;
    const receivedUnixNano = nowNanos();
    this.batch.push(syslogRecord(line, { tenant: this.config.tenant, receiver: this.name, peer, receivedUnixNano, timeZone }));
    // Datagrams that arrive in the same turn of the event loop share one submit.
    if (this.batch.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const records = this.batch;
    this.batch = [];
    if (records.length === 0) return;
    receiveRestamped(this.ctx, this.name, records);
    const work = this.ctx.submit(records, this.name).catch((error: unknown) => {
      // UDP senders cannot be told to resend; the loss is counted and logged.
      this.ctx.metrics.recordsRejected.inc({ receiver: this.name, reason: 'commit' }, records.length);
      this.ctx.logger.error(
        { listener: this.name, records: records.length, reason: (error as Error).message },
        'syslog datagrams not committed',
      );
    });
    this.work.add(work);
    void work.finally(() => this.work.delete(work));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.socket ? this.socket.close(() => resolve()) : resolve()));
    this.flush();
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }
}

/** The syslog listeners the configuration enables: TCP and UDP, and TLS when a certificate is configured. */
export function syslogListeners(config: MeshlogConfig['syslog'], host: string, ctx: IngestContext): Listener[] {
  const listeners: Listener[] = [
    streamListener('syslog_tcp', config.tcp_port, host, config, ctx),
    new SyslogUdpListener(host, config.udp_port, config, ctx),
  ];
  if (config.tls) listeners.push(streamListener('syslog_tls', config.tls_port, host, config, ctx));
  return listeners;
}
