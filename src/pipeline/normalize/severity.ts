import { severityFromText } from '../../model/severity.js';

/** Level words beyond the common ones (model/severity.ts): java.util.logging, klog letters, Go's 4-letter spellings. */
const moreWords: Record<string, number> = {
  finest: 1,
  finer: 2,
  fine: 5,
  config: 7,
  severe: 17,
  dbug: 5,
  eror: 17,
  d: 5,
  i: 9,
  w: 13,
  e: 17,
  f: 21,
};

/** pino / bunyan numeric levels. */
const numberByPinoLevel: Record<string, number> = { '10': 1, '20': 5, '30': 9, '40': 13, '50': 17, '60': 21 };

const rangeNames = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** The severity number for a level as written (`INFO`, `warning`, `E`, pino `30`, `ERROR2`); 0 when unknown. */
export function severityNumberOf(text: string): number {
  const word = severityFromText(text);
  if (word !== 0) return word;
  const more = moreWords[text.toLowerCase()];
  if (more !== undefined) return more;
  const pino = numberByPinoLevel[text];
  if (pino !== undefined) return pino;
  // OTel short names with a step (`INFO2`, `ERROR3`).
  const step = /^([A-Za-z]+)([1-4])$/.exec(text);
  if (step) {
    const base = rangeNames.indexOf(step[1].toUpperCase());
    if (base >= 0) return base * 4 + Number(step[2]);
  }
  return 0;
}

/** OTel's short name for a severity number: `INFO`, `INFO2`…`FATAL4`; '' for 0. */
export function severityTextOf(severityNumber: number): string {
  if (severityNumber < 1 || severityNumber > 24) return '';
  const range = Math.floor((severityNumber - 1) / 4);
  const step = (severityNumber - 1) % 4;
  return step === 0 ? rangeNames[range] : `${rangeNames[range]}${step + 1}`;
}

/** Access logs carry no level: a 5xx answer is an error, a 4xx a warning, anything else info. */
export function severityOfStatus(status: number): number {
  if (status >= 500) return 17;
  if (status >= 400) return 13;
  return 9;
}
