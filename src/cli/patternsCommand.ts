import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { stringify } from 'csv-stringify/sync';
import { DrainMiner, defaultMinerOptions, patternTemplate, type LogPattern } from '../pipeline/patterns/drainMiner.js';

export interface MineFlags {
  output: 'csv';
  similarity?: string;
}

/**
 * `meshlog patterns mine`: the ingest miner run offline over one message per
 * line. Templates are printed in their final form, after every line was
 * seen, so all lines of a pattern show the same template.
 */
export async function mineCommand(file: string | undefined, flags: MineFlags): Promise<void> {
  const similarity = flags.similarity === undefined ? defaultMinerOptions.similarity : Number(flags.similarity);
  if (!(similarity >= 0 && similarity <= 1)) throw new Error(`--similarity must be between 0 and 1, got "${flags.similarity}"`);
  const miner = new DrainMiner('', { ...defaultMinerOptions, similarity, maxTemplates: Number.MAX_SAFE_INTEGER });
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const input = file === undefined || file === '-' ? process.stdin : createReadStream(file);
  const mined: LogPattern[] = [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) mined.push(miner.add(line));
  process.stdout.write(stringify([['line_number', 'pattern_id', 'template']]));
  const chunk: string[][] = [];
  for (let i = 0; i < mined.length; i++) {
    chunk.push([String(i + 1), mined[i].id, patternTemplate(mined[i])]);
    if (chunk.length === 10_000 || i === mined.length - 1) {
      // Respect backpressure: a large file piped into `head` or a slow reader must not buffer everything.
      if (!process.stdout.write(stringify(chunk))) await new Promise((resolve) => process.stdout.once('drain', resolve));
      chunk.length = 0;
    }
  }
}
