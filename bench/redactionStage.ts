/**
 * The redaction stage alone, over records shaped like `npm run bench`'s
 * (1,000 per OTLP resource, sharing its attributes object), with the default
 * rules: prints main-thread CPU µs per record.
 *
 *   npx tsc -p . && node dist/bench/redactionStage.js
 *   STAGE=<path to another build's dist/src/pipeline/redactionStage.js> node dist/bench/redactionStage.js
 */
import { pathToFileURL } from 'node:url';
import { newLogRecord, type LogRecord } from '../src/model/logRecord.js';
import { defaultRuleNames } from '../src/pipeline/redact/builtinRules.js';
import { redactionStage as thisTreeStage } from '../src/pipeline/redactionStage.js';

const records = Number(process.env.RECORDS ?? 300_000);
const perResource = 1000;
const rounds = Number(process.env.ROUNDS ?? 5);
const redactionStage: typeof thisTreeStage = process.env.STAGE
  ? ((await import(pathToFileURL(process.env.STAGE).href)) as { redactionStage: typeof thisTreeStage }).redactionStage
  : thisTreeStage;

function batchOf(seed: number): LogRecord[] {
  const service = ['checkout', 'cart', 'payments', 'search'][seed % 4];
  const resource = {
    'service.name': service,
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': `${service}-7d9f8c-${seed % 7}`,
    'cloud.region': 'eu-west-1',
  };
  return Array.from({ length: perResource }, (_, i) => {
    const id = seed * perResource + i;
    return newLogRecord({
      tenant: 'bench',
      receiver: 'otlp_http',
      body: `order ${id} processed for customer ${id % 9973} in ${(id % 250) + 3}ms via ${service}-v2 (cache ${id % 3 ? 'hit' : 'miss'})`,
      attributes: {
        'http.route': `/api/${service}/${id % 40}`,
        'http.status_code': String(200 + (id % 5 === 0 ? 300 : 0)),
        thread: `worker-${id % 16}`,
      },
      resource,
    });
  });
}

const stage = redactionStage({ rules: defaultRuleNames, custom: [] }, () => {});
const figures: number[] = [];
for (let round = 0; round < rounds; round++) {
  const batches = Array.from({ length: records / perResource }, (_, seed) => batchOf(seed));
  const start = process.cpuUsage();
  for (const batch of batches) stage(batch);
  const used = process.cpuUsage(start);
  figures.push((used.user + used.system) / records);
}
figures.sort((a, b) => a - b);
console.log(
  `redaction stage, ${records} records, ${perResource} per resource, ${rounds} rounds: ` +
    `median ${figures[Math.floor(rounds / 2)].toFixed(3)} µs/record (min ${figures[0].toFixed(3)}, max ${figures[rounds - 1].toFixed(3)})`,
);
