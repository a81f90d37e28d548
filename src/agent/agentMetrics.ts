import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Source } from './source.js';

/** The agent's own Prometheus metrics. */
export class AgentMetrics {
  readonly registry = new Registry();

  readonly linesRead = new Counter({
    name: 'meshlog_agent_lines_read_total',
    help: 'Lines read from all sources',
    registers: [this.registry],
  });
  readonly bytesRead = new Counter({
    name: 'meshlog_agent_bytes_read_total',
    help: 'Bytes read from all sources',
    registers: [this.registry],
  });
  readonly linesShipped = new Counter({
    name: 'meshlog_agent_lines_shipped_total',
    help: 'Lines the server acknowledged',
    registers: [this.registry],
  });
  readonly batchesShipped = new Counter({
    name: 'meshlog_agent_batches_shipped_total',
    help: 'Batches the server acknowledged',
    registers: [this.registry],
  });
  readonly batchesRetried = new Counter({
    name: 'meshlog_agent_batches_retried_total',
    help: 'Send attempts that failed and were retried (network error, 429, 5xx)',
    registers: [this.registry],
  });
  readonly serverFailovers = new Counter({
    name: 'meshlog_agent_server_failovers_total',
    help: 'Times a failed send moved the agent on to the next of its servers',
    registers: [this.registry],
  });
  readonly batchesRefused = new Counter({
    name: 'meshlog_agent_batches_refused_total',
    help: 'Batches the server refused for good (kept under <data_dir>/rejected)',
    registers: [this.registry],
  });

  readonly bufferAppendFailures = new Counter({
    name: 'meshlog_agent_buffer_append_failures_total',
    help: 'Times a batch could not be written to the disk buffer (disk full, I/O error); it is retried, not skipped',
    registers: [this.registry],
  });

  readonly checkpointFailures = new Counter({
    name: 'meshlog_agent_checkpoint_failures_total',
    help: 'Times the checkpoint file could not be written (disk full, I/O error); it is retried',
    registers: [this.registry],
  });

  constructor(
    bufferedBytes: () => number,
    sources: () => Iterable<Source>,
    bufferDamage: () => { corruptFrames: number; missingSegments: number } = () => ({ corruptFrames: 0, missingSegments: 0 }),
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'meshlog_agent_' });
    // Counted by the buffer itself (it meets them while reading, before any metrics exist at start), read at scrape.
    new Counter({
      name: 'meshlog_agent_buffer_corrupt_frames_total',
      help: 'Unreadable batches met in the disk buffer (CRC, header or authentication failed), moved to <data_dir>/quarantine and skipped',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(bufferDamage().corruptFrames);
      },
    });
    new Counter({
      name: 'meshlog_agent_buffer_missing_segments_total',
      help: 'Disk buffer segment files deleted by something other than the agent before their batches were sent (those batches are lost)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(bufferDamage().missingSegments);
      },
    });
    new Gauge({
      name: 'meshlog_agent_buffered_bytes',
      help: 'Bytes in the disk buffer (batches not yet acknowledged)',
      registers: [this.registry],
      collect() {
        this.set(bufferedBytes());
      },
    });
    new Gauge({
      name: 'meshlog_agent_file_lag_bytes',
      help: 'Bytes of a file not yet acknowledged by the server (size - acknowledged offset)',
      labelNames: ['path'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const source of sources())
          if (source.identity && source.active) this.set({ path: source.path }, Math.max(0, source.size - source.ackedOffset));
      },
    });
  }
}
