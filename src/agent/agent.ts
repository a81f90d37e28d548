import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { AgentConfig } from './agentConfig.js';
import { startAgentHttp } from './agentHttp.js';
import { AgentMetrics } from './agentMetrics.js';
import { BatchBuilder, fixed64, type Fixed64 } from './delivery/batchBuilder.js';
import { CheckpointStore, type Checkpoint, type CheckpointState } from './delivery/checkpointStore.js';
import { defaultBufferKeyFile, loadBufferKey } from './delivery/bufferKey.js';
import { DiskBuffer, type Frame } from './delivery/diskBuffer.js';
import type { FrameHeader } from './delivery/frameSource.js';
import { retryDelay } from './delivery/retryDelay.js';
import { Shipper } from './delivery/shipper.js';
import { FileInput, type FileGroup, type ResumePoint } from './inputs/fileInput.js';
import { JournaldInput, type JournaldResume } from './inputs/journaldInput.js';
import type { ReadGate, RecordDetails } from './inputs/recordSink.js';
import { readStream } from './inputs/stdinInput.js';
import type { KeyValue, Source } from './source.js';
import { agentOutput, agentOutputUrls } from './outputs/outputFromConfig.js';
import type { AgentOutput } from './delivery/agentOutput.js';

/** How the input ended: how many batches of this run were lost in the disk buffer (unreadable, or their segment deleted) and not sent. */
export interface InputEnded {
  unsent: number;
}

/** How many finished sources /sources still reports. */
const finishedReported = 1000;

/**
 * The shipping agent: inputs read lines into batches, batches go to a disk
 * buffer, the shipper sends them and, once the server acknowledged one, the
 * checkpoints move past its lines. Reading stops while the buffer is full.
 */
export class MeshlogAgent {
  private readonly sources = new Map<string, Source>();
  /** The last sources that ended (rotated away, truncated, stdin closed) and were wholly acknowledged. */
  private readonly finished: Source[] = [];
  /** Checkpoints of a previous run whose file was not (yet) found again. */
  private retained: Record<string, Checkpoint>;
  private readonly resumePoints = new Map<string, ResumePoint[]>();
  /** Sources with batches in the buffer at start. */
  private readonly pendingKeys = new Set<string>();
  private readonly builder: BatchBuilder;
  private readonly touched = new Set<Source>();
  private readonly metrics: AgentMetrics;
  private readonly checkpoints: CheckpointStore;
  private readonly shipper: Shipper;
  private readonly output: AgentOutput;
  private readonly fileInput: FileInput | undefined;
  private journald: JournaldInput | undefined;
  private sealing: Promise<void> = Promise.resolve();
  private sealsWaiting = 0;
  /** A batch could not be buffered while stopping: later ones are not buffered either. */
  private sealLost = false;
  private ackedSeq: number;
  private stopped = false;
  private ready = false;
  private http: Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private observedMs = 0;
  private observed: Fixed64 = fixed64(0n);
  httpAddress = '';
  private drained: (() => void) | undefined;
  private finish: (ended: InputEnded) => void = () => undefined;
  /** Resolves when there is nothing more to read and every batch was acknowledged or found unreadable (stdin as the only input). */
  readonly inputEnded = new Promise<InputEnded>((resolve) => (this.finish = resolve));

  private constructor(
    private readonly config: AgentConfig,
    private readonly buffer: DiskBuffer,
    state: CheckpointState,
    private readonly logger: Logger,
  ) {
    this.ackedSeq = state.acked_seq;
    this.retained = { ...state.sources };
    this.checkpoints = new CheckpointStore(join(config.data_dir, 'checkpoints.json'));
    this.builder = new BatchBuilder({ maxRecords: config.batch.max_records, maxBytes: config.batch.max_bytes });
    this.metrics = new AgentMetrics(
      () => this.buffer.bytes,
      () => this.sources.values(),
      () => this.buffer,
    );
    this.output = agentOutput(config);
    this.shipper = new Shipper(
      buffer,
      {
        output: this.output,
        urls: agentOutputUrls(config),
        headers: config.output.headers,
        token: config.token,
        tenant: config.tenant,
        maxInFlight: config.delivery.max_in_flight,
        requestTimeoutMs: config.delivery.request_timeout_ms,
        retryInitialMs: config.delivery.retry_initial_ms,
        retryMaxMs: config.delivery.retry_max_ms,
        rejectedDir: join(config.data_dir, 'rejected'),
      },
      (frame) => this.acknowledged(frame),
      this.metrics,
      logger,
    );
    const groups: FileGroup[] = config.files.map((files) => ({ ...files, podsDir: undefined }));
    if (config.kubernetes.enabled) {
      const labels: Record<string, string> = {};
      if (config.kubernetes.node_name) labels['k8s.node.name'] = config.kubernetes.node_name;
      if (config.kubernetes.cluster_name) labels['k8s.cluster.name'] = config.kubernetes.cluster_name;
      const podsDir = resolve(config.kubernetes.pods_dir);
      groups.push({ paths: [`${podsDir}/*/*/*.log`], format: 'container', labels, podsDir });
    }
    this.fileInput =
      groups.length > 0
        ? new FileInput(
            groups,
            { rotateWaitMs: config.rotate_wait_ms, maxLineBytes: config.max_line_bytes, resourceLabels: this.resourceLabels() },
            (dev, ino) => this.resumePoints.get(`${dev}:${ino}`) ?? [],
            (source, body, offset, time, attributes) => this.add(source, body, offset, time, attributes),
            this.gate,
            (source) => this.register(source),
            logger,
          )
        : undefined;
  }

  static async start(config: AgentConfig, logger: Logger): Promise<MeshlogAgent> {
    const state = await new CheckpointStore(join(config.data_dir, 'checkpoints.json')).load();
    const { buffer, pending } = await DiskBuffer.open(
      join(config.data_dir, 'buffer'),
      {
        maxBytes: config.buffer.max_bytes,
        segmentBytes: config.buffer.segment_bytes,
        fsync: config.buffer.fsync,
        key: config.buffer.encrypt
          ? loadBufferKey(config.buffer.key_file ?? defaultBufferKeyFile(config.data_dir), config.data_dir)
          : undefined,
      },
      state.acked_seq,
      logger,
    );
    const agent = new MeshlogAgent(config, buffer, state, logger);
    agent.indexResumePoints(state, pending);
    if (config.journald.enabled) agent.startJournald(state, pending);
    const http = await startAgentHttp(config.http_host, config.http_port, {
      metrics: agent.metrics,
      ready: () => agent.ready,
      sources: () => [...agent.finished, ...agent.sources.values()],
    });
    agent.http = http.server;
    agent.httpAddress = http.address;
    void agent.shipper.run().catch((error: unknown) => logger.error({ err: error }, 'shipper stopped'));
    agent.timers.push(setInterval(() => agent.sealIfDue(), Math.max(10, Math.floor(config.batch.max_wait_ms / 4))));
    agent.journald?.start();
    if (agent.fileInput) void agent.pollLoop(agent.fileInput);
    if (config.stdin) void agent.readStdin();
    if (!agent.fileInput) agent.ready = true;
    logger.info(
      { http: http.address, server: config.servers ?? config.server, buffered_batches: pending.length },
      'meshlog agent is ready',
    );
    return agent;
  }

  /** Stops reading and sending; what was read is sealed into the buffer and sent by the next run. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.shipper.stop();
    this.journald?.close();
    this.seal();
    await this.sealing;
    await this.fileInput?.close();
    await this.buffer.close();
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
  }

  private readonly gate: ReadGate = {
    canRead: () => !this.stopped && !this.buffer.isFull && this.sealsWaiting < 2,
    afterChunk: async () => {
      if (this.sealsWaiting >= 2) await this.sealing;
      if (this.buffer.isFull) await this.buffer.waitForSpace();
    },
    touch: (source) => void this.touched.add(source),
  };

  private resourceLabels(): Record<string, string> {
    return { 'host.name': hostname(), ...this.config.labels };
  }

  private add(
    source: Source,
    body: string,
    offset: number,
    time: bigint | undefined,
    attributes: KeyValue[] | undefined,
    details?: RecordDetails,
  ): void {
    const now = Date.now();
    if (now !== this.observedMs) {
      this.observedMs = now;
      this.observed = fixed64(BigInt(now) * 1_000_000n);
    }
    const uid: KeyValue = { key: 'log.record.uid', value: { stringValue: details?.uid ?? `${source.uidPrefix}-${offset}` } };
    this.builder.add(source, {
      ...(time !== undefined && { timeUnixNano: fixed64(time) }),
      ...(details?.severityNumber !== undefined && { severityNumber: details.severityNumber, severityText: details.severityText }),
      observedTimeUnixNano: this.observed,
      body: { stringValue: body },
      attributes: attributes ? [uid, ...attributes] : [uid],
    });
    this.metrics.linesRead.inc();
    this.metrics.bytesRead.inc(body.length + 1);
    // Cut here, not per chunk: a batch never exceeds its limits, which bounds the duplicates after a crash.
    if (this.builder.isFull) this.seal();
  }

  private register(source: Source): void {
    const earlier = this.retained[source.key];
    if (earlier) {
      // Batches of this source the server acknowledged after the start, before its file was found again.
      source.ackedOffset = Math.max(source.ackedOffset, earlier.offset);
      source.linesAcked = Math.max(source.linesAcked, earlier.lines_acked);
    }
    this.sources.set(source.key, source);
    delete this.retained[source.key];
  }

  /** Cuts the open batch now (in the caller's synchronous step) and appends it to the buffer in sequence. */
  private seal(): void {
    if (this.builder.records === 0 && this.touched.size === 0) return;
    const batch = this.builder.cut(this.touched);
    this.touched.clear();
    const encoded = this.output.encode(batch);
    this.sealsWaiting++;
    this.sealing = this.sealing.then(async () => {
      try {
        const body = await encoded;
        if (this.sealLost) return;
        // Retried, never skipped: the next batch's checkpoint covers this one's lines, so a batch left out
        // would be lost for good. Later batches wait behind it (and reading waits behind them).
        for (let attempt = 0; ; attempt++) {
          try {
            await this.buffer.waitForSpace();
            const header = await this.buffer.append({ records: batch.records, sources: batch.sources }, body);
            for (const entry of batch.sources) {
              const source = this.sources.get(entry.key);
              if (source) source.lastFrameSeq = header.seq;
            }
            return;
          } catch (error) {
            this.metrics.bufferAppendFailures.inc();
            if (this.stopped) {
              // Nothing after it is buffered either (sealLost), so no checkpoint passes its lines.
              this.sealLost = true;
              this.logger.error({ err: error }, 'could not buffer a batch while stopping; its lines are read again at the next start');
              return;
            }
            const retryInMs = retryDelay(attempt, { initialMs: 100, maxMs: 5_000 });
            this.logger.error({ err: error, retryInMs }, 'could not buffer a batch; retrying (reading waits)');
            await new Promise((resolve) => setTimeout(resolve, retryInMs));
          }
        }
      } catch (error) {
        // Only encoding gets here (appends are retried above): a batch that cannot be encoded never can be.
        this.logger.error({ err: error }, 'could not encode a batch; its lines are not sent');
      } finally {
        this.sealsWaiting--;
      }
    });
  }

  /** Intervals on the monotonic clock: the wall clock set back an hour held a quiet source's batch for that hour. */
  private sealIfDue(): void {
    if (this.builder.records > 0 && performance.now() - this.builder.openedAt >= this.config.batch.max_wait_ms) this.seal();
    else if (this.builder.records === 0 && this.touched.size > 0) this.seal();
  }

  private async acknowledged(frame: Frame): Promise<void> {
    for (const entry of frame.header.sources) {
      const source = this.sources.get(entry.key);
      if (source) {
        source.ackedOffset = entry.offset;
        if (entry.cursor !== undefined) source.ackedCursor = entry.cursor;
        source.linesAcked += entry.lines;
      } else if (this.retained[entry.key]) {
        this.retained[entry.key].offset = entry.offset;
        if (entry.cursor !== undefined) this.retained[entry.key].cursor = entry.cursor;
        this.retained[entry.key].lines_acked += entry.lines;
      }
    }
    this.ackedSeq = frame.header.seq;
    this.metrics.linesShipped.inc(frame.header.records);
    this.metrics.batchesShipped.inc();
    for (const [key, source] of this.sources) {
      if (source.active || source.lastFrameSeq > this.ackedSeq) continue;
      // Finished and wholly acknowledged: no checkpoint needed any more, but still reported for reconciliation.
      this.sources.delete(key);
      this.finished.push(source);
      if (this.finished.length > finishedReported) this.finished.shift();
    }
    await this.saveCheckpoints();
    await this.buffer.release(this.ackedSeq);
    if (this.drained) this.drained();
  }

  /** Retried until it is written (a full disk): the next acknowledgement must not run ahead of this one. */
  private async saveCheckpoints(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.checkpoints.save(() => this.snapshot());
        return;
      } catch (error) {
        this.metrics.checkpointFailures.inc();
        // Stopping: the batches are re-sent from the last checkpoint written, and the server keeps one copy.
        if (this.stopped) return;
        const retryInMs = retryDelay(attempt, { initialMs: 100, maxMs: 5_000 });
        this.logger.error({ err: error, retryInMs }, 'could not write the checkpoints; retrying');
        await new Promise((resolve) => setTimeout(resolve, retryInMs));
      }
    }
  }

  private snapshot(): CheckpointState {
    const sources: Record<string, Checkpoint> = { ...this.retained };
    for (const source of this.sources.values()) {
      if (source.ackedCursor !== undefined) {
        sources[source.key] = { path: source.path, offset: source.ackedOffset, cursor: source.ackedCursor, lines_acked: source.linesAcked };
        continue;
      }
      const identity = source.identity;
      if (!identity) continue;
      sources[source.key] = {
        path: source.path,
        dev: identity.dev,
        ino: identity.ino,
        fp: identity.fp,
        fp_len: identity.fpLen,
        born: identity.born,
        offset: source.ackedOffset,
        lines_acked: source.linesAcked,
      };
    }
    return { acked_seq: this.ackedSeq, sources };
  }

  /** Where each file generation resumes: its checkpoint, moved past the batches already in the buffer. */
  private indexResumePoints(state: CheckpointState, pending: FrameHeader[]): void {
    const points = new Map<string, ResumePoint & { dev: number; ino: number }>();
    for (const [key, checkpoint] of Object.entries(state.sources)) {
      if (checkpoint.dev === undefined || checkpoint.ino === undefined || checkpoint.fp === undefined) continue;
      points.set(key, {
        dev: checkpoint.dev,
        ino: checkpoint.ino,
        fp: checkpoint.fp,
        fpLen: checkpoint.fp_len ?? 0,
        born: checkpoint.born ?? 0,
        offset: checkpoint.offset,
        ackedOffset: checkpoint.offset,
        linesRead: checkpoint.lines_acked,
        linesAcked: checkpoint.lines_acked,
      });
    }
    for (const frame of pending) {
      for (const entry of frame.sources) {
        this.pendingKeys.add(entry.key);
        if (entry.dev === undefined || entry.ino === undefined || entry.fp === undefined) continue;
        const point = points.get(entry.key) ?? {
          dev: entry.dev,
          ino: entry.ino,
          fp: entry.fp,
          fpLen: entry.fp_len ?? 0,
          born: entry.born ?? 0,
          offset: 0,
          ackedOffset: 0,
          linesRead: 0,
          linesAcked: 0,
        };
        point.offset = entry.offset;
        point.linesRead += entry.lines;
        points.set(entry.key, point);
        this.retained[entry.key] ??= {
          path: entry.path,
          dev: entry.dev,
          ino: entry.ino,
          fp: entry.fp,
          fp_len: entry.fp_len,
          born: entry.born,
          offset: 0,
          lines_acked: 0,
        };
      }
    }
    for (const point of points.values()) {
      const key = `${point.dev}:${point.ino}`;
      this.resumePoints.set(key, [...(this.resumePoints.get(key) ?? []), point]);
    }
  }

  /** The journal resumes after the last entry buffered, else after the last acknowledged. */
  private startJournald(state: CheckpointState, pending: FrameHeader[]): void {
    const key = `journald:${this.config.journald.directory ?? 'local'}`;
    const checkpoint = state.sources[key];
    const resume: JournaldResume = {
      cursor: checkpoint?.cursor,
      ackedCursor: checkpoint?.cursor,
      linesRead: checkpoint?.lines_acked ?? 0,
      linesAcked: checkpoint?.lines_acked ?? 0,
    };
    for (const frame of pending) {
      for (const entry of frame.sources) {
        if (entry.key !== key) continue;
        if (entry.cursor !== undefined) resume.cursor = entry.cursor;
        resume.linesRead += entry.lines;
      }
    }
    const journald = this.config.journald;
    this.journald = new JournaldInput(
      {
        journalctl: journald.journalctl,
        directory: journald.directory,
        matches: journald.matches,
        since: journald.since,
        resource: { ...this.resourceLabels(), ...journald.labels },
      },
      resume,
      (source, body, offset, time, attributes, details) => this.add(source, body, offset, time, attributes, details),
      this.gate,
      this.logger,
    );
    this.register(this.journald.source);
  }

  private async pollLoop(input: FileInput): Promise<void> {
    let discoveredAt = 0;
    while (!this.stopped) {
      let more = false;
      try {
        // Monotonic: with the wall clock set back, new and rotated files went unseen until it caught up.
        const discover = performance.now() - discoveredAt >= this.config.poll_interval_ms;
        if (discover) discoveredAt = performance.now();
        more = await input.poll(discover);
      } catch (error) {
        this.logger.error({ err: error }, 'poll failed');
      }
      if (!this.ready) {
        this.ready = true;
        // Checkpoints of files not found at the first look are kept only while batches of theirs wait in the buffer.
        for (const key of Object.keys(this.retained)) if (!this.sources.has(key) && !this.pendingKeys.has(key)) delete this.retained[key];
      }
      if (this.stopped) break;
      if (!this.gate.canRead()) await this.buffer.waitForSpace();
      else if (more) await new Promise((resolve) => setImmediate(resolve));
      else await new Promise((resolve) => setTimeout(resolve, this.config.poll_interval_ms));
    }
  }

  /**
   * Reads stdin to its end; with no other input, resolves `inputEnded` once
   * every batch was read back from the buffer and every one read was
   * acknowledged. A batch that cannot be read back (moved to quarantine) is
   * never acknowledged: waiting for its acknowledgement kept the agent
   * running forever.
   */
  private async readStdin(): Promise<void> {
    await readStream(
      process.stdin,
      this.resourceLabels(),
      { maxLineBytes: this.config.max_line_bytes },
      (source, body, offset) => this.add(source, body, offset, undefined, undefined),
      this.gate,
      (source) => this.register(source),
    );
    this.seal();
    await this.sealing;
    if (this.fileInput) return;
    const handed = await this.buffer.readPast(this.buffer.nextSeq - 1);
    while (this.ackedSeq < handed) await new Promise<void>((resolve) => (this.drained = resolve));
    const unsent = this.buffer.corruptFrames + this.buffer.missingSegments;
    if (unsent > 0)
      this.logger.error(
        { unsent_batches: unsent, quarantine: join(this.config.data_dir, 'quarantine') },
        'standard input ended; batches that could not be read back from the disk buffer were not sent (their lines are lost unless recovered from quarantine)',
      );
    else this.logger.info('standard input ended and every line was acknowledged');
    this.finish({ unsent });
  }
}
