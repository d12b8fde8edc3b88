import { createHmac } from 'node:crypto';

/**
 * The hash chain of the security log. Each row's hash is HMAC-SHA256(SECURITY_LOG_KEY) over the
 * previous row's hash and the row's own fields, written canonically (the detail's keys sorted:
 * Postgres' jsonb does not keep their order). The first row's previous hash is GENESIS. Without
 * the key nobody can rebuild the chain after editing a row, so an edit shows at that row; a
 * removed or inserted row shows at the next one.
 */
export const GENESIS = '0'.repeat(64);

export interface ChainedFields {
  seq: number;
  at: Date;
  kind: string;
  subject: string | null;
  source: string | null;
  requestId: string | null;
  detail: Record<string, string | number | boolean>;
}

export function canonical(fields: ChainedFields): string {
  const detail = Object.keys(fields.detail)
    .sort()
    .map((k) => [k, fields.detail[k]]);
  return JSON.stringify([
    fields.seq,
    fields.at.toISOString(),
    fields.kind,
    fields.subject,
    fields.source,
    fields.requestId,
    detail,
  ]);
}

export function chainHash(key: string, prevHash: string, fields: ChainedFields): string {
  return createHmac('sha256', key)
    .update(prevHash)
    .update('\n')
    .update(canonical(fields))
    .digest('hex');
}

export type ChainBreak = { seq: number; problem: string };

/**
 * Walks rows in `seq` order (pages of them, from `rows`), and says where the chain first breaks:
 * a gap in the numbering, a previous hash that is not the previous row's, or a hash that is not
 * the row's. Null when it holds.
 */
export async function firstBreak(
  key: string,
  rows: AsyncIterable<ChainedFields & { prevHash: string; hash: string }>,
): Promise<{ checked: number; broken: ChainBreak | null }> {
  let prev = GENESIS;
  let expected = 1;
  let checked = 0;
  for await (const row of rows) {
    if (row.seq !== expected) {
      return {
        checked,
        broken: { seq: row.seq, problem: `expected seq ${expected}: rows are missing` },
      };
    }
    if (row.prevHash !== prev) {
      return {
        checked,
        broken: {
          seq: row.seq,
          problem:
            'its previous hash is not the previous row’s: a row before it was changed, removed or inserted',
        },
      };
    }
    if (chainHash(key, prev, row) !== row.hash) {
      return {
        checked,
        broken: {
          seq: row.seq,
          problem: 'its hash does not match its contents: the row was edited',
        },
      };
    }
    prev = row.hash;
    expected++;
    checked++;
  }
  return { checked, broken: null };
}
