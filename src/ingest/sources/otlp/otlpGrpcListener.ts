import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import grpc from '@grpc/grpc-js';
import type { MeshlogConfig } from '../../../config/schema.js';
import { MeshlogError } from '../../../errors.js';
import { decodeOtlpLogsProtobuf, encodeOtlpLogsResponse } from './otlpLogs.js';
import { decodeOtlpTracesProtobuf, encodeOtlpTracesResponse } from './otlpTraces.js';
import { presentedToken } from '../../../security/presentedToken.js';
import type { Authenticate } from '../../../security/authenticator.js';
import { requirePermission, type Identity } from '../../../security/identity.js';
import { verifiedCertificateIdentity } from '../../../security/tlsOptions.js';
import { tenantOfRequest } from '../../../security/tenant.js';
import { asMeshlogError } from '../../../http/errorReply.js';
import { otlpPartialSuccess } from './otlpLogsRoute.js';
import { countBytes, distribute, logSignal, spanSignal } from '../../distributor.js';
import type { IngestContext } from '../../ingestContext.js';
import type { Listener } from '../../listener.js';
import { ConnectionsPerAddress } from '../shared/connectionsPerAddress.js';

const receiver = 'otlp_grpc';
/** How often refused connections are reported, at most. */
const dropReportIntervalMs = 60_000;

/**
 * A unary Export method whose message bytes pass through untouched: the OTLP
 * receivers decode them with the same protobuf code as OTLP/HTTP.
 */
function exportService(path: string): grpc.ServiceDefinition {
  return {
    export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (bytes: Uint8Array) => Buffer.from(bytes),
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (bytes: Uint8Array) => Buffer.from(bytes),
      responseDeserialize: (bytes: Buffer) => bytes,
    },
  };
}

/**
 * gRPC status for a refused export. Overload and shutdown are UNAVAILABLE:
 * the OTLP spec names it the retryable code, while RESOURCE_EXHAUSTED is only
 * retried by clients when RetryInfo details come with it.
 */
function grpcStatus(error: MeshlogError): grpc.status {
  if (error.status === 401) return grpc.status.UNAUTHENTICATED;
  if (error.status === 403) return grpc.status.PERMISSION_DENIED;
  if (error.retryable) return grpc.status.UNAVAILABLE;
  if (error.status === 413) return grpc.status.RESOURCE_EXHAUSTED;
  // Not retryable and not the request's fault: INTERNAL, which OTLP exporters do not retry.
  if (error.status >= 500) return grpc.status.INTERNAL;
  return grpc.status.INVALID_ARGUMENT;
}

function singleMetadata(metadata: grpc.Metadata, key: string): string | string[] | undefined {
  const values = metadata.get(key).map(String);
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
}

/**
 * OTLP/gRPC logs and traces on 4317: authenticated like the HTTP API (a
 * token, else a client certificate mapped in `tls.client_identities`),
 * tenant from `x-scope-orgid`, answered after commit. Connections are
 * accepted by our own TCP server (for the per-listener connection cap) and
 * handed to grpc-js, which speaks TLS and HTTP/2 on them.
 */
export class OtlpGrpcListener implements Listener {
  readonly name = receiver;
  private readonly server: grpc.Server;
  private tcp: net.Server | undefined;
  private credentials: grpc.ServerCredentials | undefined;
  private dropped = 0;
  private droppedReportedAt = 0;

  constructor(
    private readonly config: MeshlogConfig['otlp_grpc'],
    private readonly host: string,
    private readonly ctx: IngestContext,
    private readonly authenticate: Authenticate,
  ) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': ctx.maxDecompressedBytes,
      // An idle connection is ended with GOAWAY, gRPC's own way (the client reconnects when it has something to send).
      ...(ctx.connectionLimits ? { 'grpc.max_connection_idle_ms': ctx.connectionLimits.idleTimeoutMs } : {}),
    });
    this.server.addService(exportService('/opentelemetry.proto.collector.logs.v1.LogsService/Export'), {
      export: this.unary(async (request, tenant) => {
        const decoded = decodeOtlpLogsProtobuf(request, tenant, receiver);
        const batch = { records: decoded.records, invalid: decoded.rejected, rejectionReason: decoded.rejectionReason };
        const { refused } = await distribute(ctx, logSignal, receiver, batch);
        const { rejected, reason } = otlpPartialSuccess(batch, refused);
        return encodeOtlpLogsResponse(rejected, reason);
      }),
    });
    this.server.addService(exportService('/opentelemetry.proto.collector.trace.v1.TraceService/Export'), {
      export: this.unary(async (request, tenant) => {
        const decoded = decodeOtlpTracesProtobuf(request, tenant, receiver);
        const batch = { records: decoded.spans, invalid: decoded.rejected, rejectionReason: decoded.rejectionReason };
        const { refused } = await distribute(ctx, spanSignal, receiver, batch);
        const { rejected, reason } = otlpPartialSuccess(batch, refused);
        return encodeOtlpTracesResponse(rejected, reason);
      }),
    });
  }

  /** Authentication, tenant and error statuses shared by both Export methods. */
  private unary(handle: (request: Buffer, tenant: string) => Promise<Uint8Array>): grpc.handleUnaryCall<Buffer, Uint8Array> {
    return (call, callback) => {
      const run = async () => {
        const authorization = singleMetadata(call.metadata, 'authorization');
        if (Array.isArray(authorization)) throw new MeshlogError('ML_AUTH_INVALID', 'send a single authorization entry');
        const address = call.getPeer().replace(/:\d+$/, '');
        const authFailures = this.ctx.authFailures;
        // A token from an address that failed too often is refused unchecked, as over HTTP.
        if (authorization !== undefined) await authFailures?.check(address);
        let identity: Identity;
        try {
          const token = presentedToken({ authorization });
          identity = (token === undefined && this.certificateIdentity(call)) || (await this.authenticate(token));
        } catch (error) {
          const failure = {
            action: 'auth.failure',
            target: `grpc ${call.getPath()}`,
            detail: { reason: (error as Error).message, protocol: 'otlp_grpc' },
          };
          if (authorization !== undefined && (error as MeshlogError).code === 'ML_AUTH_INVALID')
            await authFailures?.failed(address, failure);
          else await authFailures?.denied(address, failure);
          throw error;
        }
        requirePermission(identity, 'ingest');
        this.ctx.rateLimits?.ingestRequest(identity);
        const tenant = tenantOfRequest(identity, singleMetadata(call.metadata, 'x-scope-orgid'));
        countBytes(this.ctx, receiver, call.request.length);
        return handle(call.request, tenant);
      };
      run().then(
        (response) => callback(null, response),
        (error: unknown) => {
          const refusal = asMeshlogError(error);
          this.ctx.metrics.requestsRejected.inc({ code: refusal.code });
          if (refusal.status >= 500) {
            const cause = refusal.cause as Error | undefined;
            this.ctx.logger.error(
              {
                listener: receiver,
                code: refusal.code,
                errorId: refusal.errorId,
                reason: refusal.message,
                cause: cause?.message,
                stack: refusal.errorId ? cause?.stack : undefined,
              },
              'export failed',
            );
          }
          callback({ code: grpcStatus(refusal), details: refusal.message });
        },
      );
    };
  }

  /** A verified client certificate's identity; only when the call presented no token, as over HTTP. */
  private certificateIdentity(call: grpc.ServerUnaryCall<Buffer, Uint8Array>): Identity | undefined {
    return verifiedCertificateIdentity(call.getAuthContext().sslPeerCertificate, this.config.tls);
  }

  async start(): Promise<string> {
    const files = this.config.tls;
    // With a client CA, TLS refuses clients without a certificate it signed (mTLS).
    const credentials = files
      ? grpc.ServerCredentials.createSsl(
          files.client_ca_file ? readFileSync(files.client_ca_file) : null,
          [{ cert_chain: readFileSync(files.cert_file), private_key: readFileSync(files.key_file) }],
          files.client_ca_file !== undefined,
        )
      : grpc.ServerCredentials.createInsecure();
    this.credentials = credentials;
    const injector = this.server.createConnectionInjector(credentials);
    const perAddress = new ConnectionsPerAddress(this.ctx.connectionLimits?.maxConnectionsPerAddress ?? 0, (refused, address, max) =>
      this.ctx.logger.warn(
        { listener: receiver, refused, address, maxConnectionsPerAddress: max },
        'connections refused: client address at its connection limit',
      ),
    );
    const tcp = net.createServer((socket) => {
      if (perAddress.admit(socket)) injector.injectConnection(socket);
    });
    this.tcp = tcp;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.config.port, this.host, () => resolve());
    });
    const limits = this.ctx.connectionLimits;
    if (limits) {
      tcp.maxConnections = limits.maxConnections;
      tcp.on('drop', () => this.reportDrop(limits.maxConnections));
    }
    tcp.on('error', (error) => this.ctx.logger.error({ listener: receiver, reason: error.message }, 'listener error'));
    const address = tcp.address() as AddressInfo;
    return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  /**
   * grpc-js re-applies credentials' context options to its TLS server when
   * they change; `updateSecureContextOptions` is how its own certificate
   * providers do it (protected in the typings, hence the cast).
   */
  reloadCertificates(): string | undefined {
    const files = this.config.tls;
    if (!files || !this.credentials) return undefined;
    const options = {
      ca: files.client_ca_file ? readFileSync(files.client_ca_file) : undefined,
      cert: [readFileSync(files.cert_file)],
      key: [readFileSync(files.key_file)],
      minVersion: 'TLSv1.2' as const,
    };
    tls.createSecureContext(options);
    (this.credentials as unknown as { updateSecureContextOptions(options: tls.SecureContextOptions): void }).updateSecureContextOptions(
      options,
    );
    return files.cert_file;
  }

  /** Connections refused past maxConnections: one warning a minute with the count. */
  private reportDrop(maxConnections: number): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.droppedReportedAt < dropReportIntervalMs) return;
    this.ctx.logger.warn(
      { listener: receiver, refused: this.dropped, maxConnections },
      'connections refused: listener at its connection limit',
    );
    this.dropped = 0;
    this.droppedReportedAt = now;
  }

  /** Refuses new connections and calls; resolves once the in-flight exports have answered. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    await closed;
  }
}
