import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentMetrics } from '../agentMetrics.js';
import type { DiskBuffer, Frame } from './diskBuffer.js';
import type { AgentOutput, Verdict } from './agentOutput.js';
import { isRetryableStatus, retryDelay } from './retryDelay.js';
import { ServerFailover } from './serverFailover.js';

export interface ShipperOptions {
  output: AgentOutput;
  token: string | undefined;
  tenant: string | undefined;
  maxInFlight: number;
  requestTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Where batches the server refused for good (400, 413…) are kept as evidence. */
  rejectedDir: string;
  /** Extra request headers (an API key header of another backend). */
  headers: Record<string, string>;
  /** The output's endpoint on every server it may go to, in order of preference (default: the output's url). */
  urls?: string[];
}

interface InFlight {
  frame: Frame;
  done: boolean;
}

/**
 * Sends buffered batches to the output (meshlog's OTLP/HTTP endpoint, or Loki, OTLP, Elasticsearch), up to maxInFlight at
 * once, each retried until the server acknowledges it; acknowledgements are
 * handed on in sequence order, so a checkpoint never passes a batch still in
 * flight.
 */
export class Shipper {
  private window: InFlight[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();
  private readonly servers: ServerFailover;

  constructor(
    private readonly buffer: DiskBuffer,
    private readonly options: ShipperOptions,
    private readonly onAcknowledged: (frame: Frame) => Promise<void>,
    private readonly metrics: AgentMetrics,
    private readonly logger: Logger,
  ) {
    this.servers = new ServerFailover(options.urls ?? [options.output.url]);
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      if (this.window.length >= this.options.maxInFlight) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const frame = await this.nextFrame();
      if (!frame) break;
      const entry: InFlight = { frame, done: false };
      this.window.push(entry);
      void this.deliver(entry);
    }
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
  }

  /**
   * The next buffered frame, or undefined once stopped. Not a Promise.race
   * with one lasting stop promise: each race left a reaction on it holding the
   * frame it settled with, so every batch ever sent stayed in memory.
   */
  private nextFrame(): Promise<Frame | undefined> {
    return new Promise((resolve, reject) => {
      const stopped = () => resolve(undefined);
      this.untilStopped(stopped);
      this.buffer.next().then(
        (frame) => {
          this.abort.signal.removeEventListener('abort', stopped);
          resolve(frame);
        },
        (error: unknown) => {
          this.abort.signal.removeEventListener('abort', stopped);
          reject(error);
        },
      );
    });
  }

  /** Calls `stopped` on stop (at once when already stopped); the caller removes it when done. */
  private untilStopped(stopped: () => void): void {
    if (this.abort.signal.aborted) stopped();
    else this.abort.signal.addEventListener('abort', stopped, { once: true });
  }

  private async deliver(entry: InFlight): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      const url = this.servers.url;
      const outcome = await this.send(entry.frame, url);
      if (outcome.kind === 'retry') {
        this.metrics.batchesRetried.inc();
        const next = this.servers.failed(url);
        if (next) {
          this.metrics.serverFailovers.inc();
          this.logger.warn({ from: url, to: next, reason: outcome.reason }, 'server failing; sending to the next one');
        }
        // The backoff grows with each round over every server: a failover is tried as soon as a first retry.
        // A Retry-After speaks for the server that sent it: it does not hold the batch back from the next one.
        const round = Math.floor(attempt / this.servers.urls.length);
        const retryAfter = this.servers.url === url ? outcome.retryAfter : undefined;
        const delay = retryDelay(round, { initialMs: this.options.retryInitialMs, maxMs: this.options.retryMaxMs }, retryAfter);
        this.logger.warn(
          { seq: entry.frame.header.seq, reason: outcome.reason, retryInMs: Math.round(delay) },
          'batch not delivered; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      if (outcome.kind === 'refused' && !(await this.keepRefused(entry.frame, outcome.reason))) {
        // Not kept, not dropped: sent again later, and kept once the rejected dir takes it.
        await new Promise((resolve) => setTimeout(resolve, this.options.retryMaxMs));
        continue;
      }
      entry.done = true;
      await this.acknowledgeInOrder();
      return;
    }
  }

  private async send(frame: Frame, url: string): Promise<Verdict> {
    // A batch that only moves checkpoints (a file closed without new lines) needs no request.
    if (frame.header.records === 0) return { kind: 'ok' };
    const output = this.options.output;
    const headers: Record<string, string> = { ...this.options.headers, 'content-type': output.contentType };
    if (output.contentEncoding) headers['content-encoding'] = output.contentEncoding;
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.tenant) headers['x-scope-orgid'] = this.options.tenant;
    // One signal per request, aborted by its timeout or by stop. Not AbortSignal.any with the lasting stop
    // signal: Node keeps a reference to every signal made that way in the stop signal, one more per request.
    const request = new AbortController();
    const timeout = setTimeout(() => request.abort(new DOMException('request timed out', 'TimeoutError')), this.options.requestTimeoutMs);
    const stopped = () => request.abort(this.abort.signal.reason);
    this.untilStopped(stopped);
    let response: Response;
    let answer: Buffer;
    try {
      // Redirects not followed: fetch turns a POST answered 301/302/303 into a GET, whose 200 would acknowledge a batch
      // nobody stored (a login page, an http→https hop).
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: frame.body as Uint8Array<ArrayBuffer>,
        signal: request.signal,
        redirect: 'manual',
      });
      try {
        answer = Buffer.from(await response.arrayBuffer());
      } catch (error) {
        // A 2xx cut short (the connection closed, or the timeout struck, mid-answer) may hide per-record failures:
        // sent again, at least once, the server keeping one copy by record id.
        if (response.ok) return { kind: 'retry', reason: `HTTP ${response.status} answer cut short: ${reasonOf(error)}` };
        answer = Buffer.alloc(0);
      }
    } catch (error) {
      return { kind: 'retry', reason: reasonOf(error) };
    } finally {
      clearTimeout(timeout);
      this.abort.signal.removeEventListener('abort', stopped);
    }
    if (response.status >= 300 && response.status < 400) {
      // Retried, not refused: like a wrong token, a wrong URL backs up in the buffer until the config is fixed.
      const location = response.headers.get('location') ?? 'nowhere';
      return { kind: 'retry', reason: `HTTP ${response.status} redirect to ${location}: point the agent at the URL that answers` };
    }
    if (response.ok) {
      const verdict = output.judge(answer);
      if (verdict.kind === 'ok' && verdict.warning) this.logger.warn({ seq: frame.header.seq, output: output.name }, verdict.warning);
      return verdict;
    }
    const reason = `HTTP ${response.status}`;
    if (isRetryableStatus(response.status)) return { kind: 'retry', reason, retryAfter: response.headers.get('retry-after') };
    return { kind: 'refused', reason: `${reason}: ${answer.toString('utf8').slice(0, 500)}` };
  }

  /** A batch the server will never take is kept on disk, not dropped silently, and counted; false when it could not be kept. */
  private async keepRefused(frame: Frame, reason: string): Promise<boolean> {
    const name = `${frame.header.seq}.${this.options.output.name}${this.options.output.contentEncoding === 'gzip' ? '.gz' : ''}`;
    try {
      await mkdir(this.options.rejectedDir, { recursive: true });
      await writeFile(join(this.options.rejectedDir, name), frame.body);
      await writeFile(join(this.options.rejectedDir, `${frame.header.seq}.json`), JSON.stringify({ ...frame.header, reason }));
    } catch (error) {
      this.logger.error(
        { seq: frame.header.seq, reason, err: error },
        'server refused a batch for good and it could not be kept under rejected/; sending it again later',
      );
      return false;
    }
    this.metrics.batchesRefused.inc();
    this.logger.error(
      { seq: frame.header.seq, reason, records: frame.header.records },
      'server refused a batch for good; kept under rejected/',
    );
    return true;
  }

  private acknowledging = Promise.resolve();

  /** Hands on the finished batches at the head of the window, in sequence order. */
  private acknowledgeInOrder(): Promise<void> {
    this.acknowledging = this.acknowledging.then(async () => {
      while (this.window.length > 0 && this.window[0].done) {
        // Leaves the window only once its checkpoint is written: a crash re-sends at most maxInFlight batches.
        await this.onAcknowledged(this.window[0].frame);
        this.window.shift();
        this.wake?.();
        this.wake = undefined;
      }
    });
    return this.acknowledging;
  }
}

function reasonOf(error: unknown): string {
  return (error as Error).cause ? String((error as Error).cause) : (error as Error).message;
}
