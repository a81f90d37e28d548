/** A network listener other than the HTTP port (forward, syslog, gRPC…), owned by MeshlogServer. */
export interface Listener {
  /** Short name used in logs and metrics: `forward`, `syslog_udp`… */
  readonly name: string;
  /** Starts listening; resolves with the bound address (`host:port`). */
  start(): Promise<string>;
  /** Stops accepting, lets in-flight messages finish, then closes. */
  stop(): Promise<void>;
  /**
   * SIGHUP: re-reads its TLS certificate, key and client CA for new
   * connections; returns the certificate file, or undefined without TLS.
   * Throws (keeping the previous ones) when the files cannot be used.
   */
  reloadCertificates?(): string | undefined;
}
