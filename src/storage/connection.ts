import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

export interface ConnectionTarget {
  /** Embedded chDB keeps its files under <dataDir>/clickhouse. */
  dataDir: string;
  /** A ClickHouse server instead of embedded chDB. */
  clickhouseUrl?: string;
}

/**
 * One @clickhouse/client for both deployments: embedded chDB through
 * chdb/connection, or a ClickHouse server over HTTP. Everything above this
 * file speaks to the same client API.
 */
export function connect(target: ConnectionTarget): { client: ClickHouseClient; embedded: boolean } {
  if (target.clickhouseUrl) {
    return {
      client: createClient({ url: target.clickhouseUrl, request_timeout: 120_000, compression: { request: true } }),
      embedded: false,
    };
  }
  const path = resolve(join(target.dataDir, 'clickhouse'));
  mkdirSync(path, { recursive: true });
  // chdb builds against its own copy of @clickhouse/client-common: the same
  // Connection interface under a second type identity, hence the cast.
  const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
  return { client: createClient({ connection }), embedded: true };
}
