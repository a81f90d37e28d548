import type { IncidentEvent } from '../../model/incident.js';
import type { Storage } from '../engine/storage.js';
import { storedLogColumns, type StoredLogRow } from '../logs/logRows.js';

type EventRow = Omit<IncidentEvent, 'at'> & { at_text: string };
const eventColumns = `tenant, incident_id, event_id, toString(at) AS at_text, kind, actor, actor_id, detail`;
const eventOf = ({ at_text, ...row }: EventRow): IncidentEvent => ({ ...row, at: at_text });

/** Incident timelines in ClickHouse, and the stored records an incident pins. */
export class IncidentStore {
  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database;
  }

  async append(events: IncidentEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.storage.client.insert({
      table: `${this.db}.incident_events`,
      format: 'JSONEachRow',
      values: events,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }

  /** Events of one tenant's incidents (of one incident, when named; of every tenant for tenant ''), oldest first. */
  async events(tenant: string, incidentId?: string): Promise<IncidentEvent[]> {
    const rows = await this.storage.rows<EventRow>(
      `SELECT ${eventColumns} FROM ${this.db}.incident_events
       WHERE ({tenant:String} = '' OR tenant = {tenant:String}) AND ({id:String} = '' OR incident_id = {id:String})
       ORDER BY at, event_id`,
      { tenant, id: incidentId ?? '' },
    );
    return rows.map(eventOf);
  }

  /** A stored record of the tenant by its place in its chain, or undefined when it is not (or no longer) stored. */
  async recordAt(tenant: string, chainId: string, batchSeq: number, batchPos: number): Promise<StoredLogRow | undefined> {
    const [row] = await this.storage.rows<StoredLogRow>(
      `SELECT ${storedLogColumns} FROM ${this.db}.logs
       WHERE tenant = {tenant:String} AND chain_id = {chain:String} AND batch_seq = {seq:UInt64} AND batch_pos = {pos:UInt32} LIMIT 1`,
      { tenant, chain: chainId, seq: batchSeq, pos: batchPos },
      { output_format_json_quote_64bit_integers: 0 },
    );
    return row;
  }

  /**
   * Stored records of the tenant at exactly this time with exactly this line
   * (how Explore names a line it shows), narrowed by service when given.
   */
  async recordsAt(tenant: string, timeNs: bigint, body: string, service: string | undefined): Promise<StoredLogRow[]> {
    return this.storage.rows<StoredLogRow>(
      // Filtered in a subquery: the SELECT list's `timestamp` alias (text) would shadow the column in WHERE.
      `SELECT ${storedLogColumns} FROM (
         SELECT * FROM ${this.db}.logs
         WHERE tenant = {tenant:String} AND timestamp = fromUnixTimestamp64Nano({at:Int64}) AND body = {body:String}
           AND ({service:String} = '' OR service_name = {service:String}))
       ORDER BY chain_id, batch_seq, batch_pos LIMIT 10`,
      { tenant, at: timeNs.toString(), body, service: service ?? '' },
      { output_format_json_quote_64bit_integers: 0 },
    );
  }
}
