import { scrubUrl } from '../observability/credentialScrubber.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { hasPermission, type Identity } from '../security/identity.js';
import type { QueryMasking } from './logql/queryContext.js';
import { maskMarker, type LokiStream, type ReadMasker } from './readMasking.js';

/** The masking rules and the trail a reveal is recorded in. */
export interface ReadMaskingDeps {
  masker: ReadMasker;
  audit: AuditTrail;
}

/** Who reads, and what: the audit record of a reveal names them. */
export interface Reader {
  identity: Identity | undefined;
  remoteAddress: string;
  tenant: string;
  /** Every tenant a multi-tenant read (`a|b`) names; absent or one for a single-tenant read. */
  tenants?: string[];
  /** The route template read (`/loki/api/v1/query_range`). */
  target: string | undefined;
  url: string;
}

/**
 * What one reader may see of sensitive values, applied to every answer's
 * streams, series labels and label values before they are serialised.
 * A reader without `unmask` gets them masked in place; a reader with it gets
 * them as stored, and each answer that revealed something is an audit record
 * (`data.unmask`). Without masking rules, answers pass through untouched.
 */
export class ReadPolicy {
  /** Reads nobody's data for a person (alert rules): nothing to mask, nothing to record. */
  static readonly none = new ReadPolicy(undefined, undefined);

  static of(deps: ReadMaskingDeps | undefined, reader: Reader): ReadPolicy {
    return deps?.masker.active ? new ReadPolicy(deps, reader) : ReadPolicy.none;
  }

  private constructor(
    private readonly deps: ReadMaskingDeps | undefined,
    private readonly reader: Reader | undefined,
  ) {}

  private get masks(): boolean {
    return this.deps !== undefined && (!this.reader?.identity || !hasPermission(this.reader.identity, 'unmask'));
  }

  /**
   * For the query engine and every SQL read: entries masked before the first stage, and
   * selectors and label filters matched against the masked form of sensitive labels,
   * so filters, groupings and counts see only what the answer may show.
   */
  get queryMasking(): QueryMasking | undefined {
    return this.deps && this.masks ? this.deps.masker.queryMasking : undefined;
  }

  /** True when the reader sees stored values as they are: no masking rules, or the reader may unmask. */
  get showsStored(): boolean {
    return this.deps === undefined || !this.masks;
  }

  /** True when this reader sees the label's values masked: a matcher on it must not compare its stored value. */
  masksLabel(name: string): boolean {
    return this.masks && this.deps!.masker.isSensitive(name);
  }

  /**
   * A label set as this reader sees it, for counting and telling sets apart
   * (nothing is answered from it, so nothing is recorded): two streams that
   * differ only in a masked value are one stream to a masked reader.
   */
  asSeen(labels: Map<string, string>): Map<string, string> {
    if (!this.masks) return labels;
    const masker = this.deps!.masker;
    return new Map([...labels].map(([name, value]) => [name, masker.isSensitive(name) ? maskMarker : value]));
  }

  /** Masks streams (labels and lines) in place, or records what they revealed. */
  async streams(streams: LokiStream[]): Promise<void> {
    await this.apply(streams, (masker, stream) => masker.maskStream(stream));
  }

  /** Masks the sensitive values of label sets (series, metric labels) in place, or records what they revealed. */
  async labelSets(sets: Record<string, string>[]): Promise<void> {
    await this.apply(sets, (masker, labels) => masker.maskLabels(labels));
  }

  /** A label's values as the reader may see them: one marker for all the values of a sensitive label. */
  async labelValues(name: string, values: string[]): Promise<string[]> {
    if (!this.deps?.masker.isSensitive(name) || values.length === 0) return values;
    if (this.masks) return [maskMarker];
    await this.revealed(values.length, {});
    return values;
  }

  /**
   * A live read's masking: a function masking each batch of streams, or
   * undefined for a reader who may unmask (recorded once, now, since the
   * read reveals whatever arrives while it stays open).
   */
  async live(): Promise<((streams: LokiStream[]) => void) | undefined> {
    if (!this.deps) return undefined;
    const { masker } = this.deps;
    if (this.masks) return (streams) => streams.forEach((stream) => masker.maskStream(stream));
    await this.record({ tail: true });
    return undefined;
  }

  private async apply<T>(items: T[], mask: (masker: ReadMasker, item: T) => number): Promise<void> {
    if (!this.deps) return;
    const { masker } = this.deps;
    if (this.masks) {
      for (const item of items) mask(masker, item);
      return;
    }
    const revealed = structuredClone(items).reduce((n, item) => n + mask(masker, item), 0);
    await this.revealed(revealed, {});
  }

  private async revealed(values: number, detail: Record<string, unknown>): Promise<void> {
    if (values > 0) await this.record({ ...detail, values });
  }

  private async record(detail: Record<string, unknown>): Promise<void> {
    const reader = this.reader!;
    // A multi-tenant read reveals each tenant's data: one record per tenant, as the request's own audit has.
    const several = reader.tenants !== undefined && reader.tenants.length > 1;
    for (const tenant of several ? reader.tenants! : [reader.tenant])
      await this.deps!.audit.record({
        action: 'data.unmask',
        outcome: 'success',
        actor: reader.identity,
        remoteAddress: reader.remoteAddress,
        tenant,
        target: reader.target,
        detail: { url: scrubUrl(reader.url), ...detail, ...(several ? { tenants: reader.tenants } : {}) },
      });
  }
}
