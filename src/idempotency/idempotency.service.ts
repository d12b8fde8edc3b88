import type { Db, Executor } from '../../db/client.js';
import { AppError } from '../shared/errors.js';
import { sha256Base64url } from '../shared/hashing.js';
import { findLiveKey, type KeyId, storeKey } from './idempotency-keys.repository.js';

/**
 * Idempotency-Key for POSTs (stored in Postgres, per caller and route, for 24 h). The same key
 * with the same body replays the first answer; with another body it is a 409. The key row is
 * written in the same transaction as the decision, so a replayed answer always has its audit row
 * and its event, and two racing requests with one key produce one decision.
 */

export const IDEMPOTENCY_TTL_HOURS = 24;

export interface StoredAnswer {
  statusCode: number;
  body: unknown;
}

/** Stores the key with its answer; the use case calls it inside its own transaction. */
export type SaveAnswer = (tx: Executor, answer: StoredAnswer) => Promise<void>;

/**
 * What a use case writes in its decision's transaction when the caller sent a key: the answer
 * (`statusCode`, `body`), so a replay returns exactly it. Undefined without a key.
 */
export function storeAnswer(
  save: SaveAnswer | undefined,
  body: unknown,
  statusCode = 200,
): ((tx: Executor) => Promise<void>) | undefined {
  return save && ((tx) => save(tx, { statusCode, body }));
}

/** Thrown inside the transaction when another request stored the key first: roll back, replay. */
class KeyTaken extends Error {}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export class Idempotency {
  constructor(private readonly db: Db) {}

  /**
   * Runs `work` once per (principal, scope, key). `work` receives a `save` to call inside its
   * transaction. Without a key, `work` simply runs.
   */
  async run(
    id: Omit<KeyId, 'key'> & { key: string | undefined },
    body: unknown,
    work: (save: SaveAnswer | undefined) => Promise<StoredAnswer>,
  ): Promise<StoredAnswer & { replayed: boolean }> {
    const { key } = id;
    if (key === undefined) return { ...(await work(undefined)), replayed: false };
    const keyId = { principal: id.principal, scope: id.scope, key };
    const requestHash = sha256Base64url(canonical(body));

    const replay = async (): Promise<(StoredAnswer & { replayed: boolean }) | undefined> => {
      const row = await findLiveKey(this.db, keyId, IDEMPOTENCY_TTL_HOURS);
      if (!row) return undefined;
      if (row.requestHash !== requestHash) {
        throw new AppError(
          'IDEMPOTENCY_CONFLICT',
          'This Idempotency-Key was used with a different request body; use a new key',
        );
      }
      return { statusCode: row.statusCode, body: row.response, replayed: true };
    };

    const earlier = await replay();
    if (earlier) return earlier;
    try {
      const answer = await work(async (tx, answer) => {
        const stored = await storeKey(
          tx,
          { ...keyId, requestHash, statusCode: answer.statusCode, response: answer.body },
          IDEMPOTENCY_TTL_HOURS,
        );
        if (!stored) throw new KeyTaken();
      });
      return { ...answer, replayed: false };
    } catch (err) {
      if (!(err instanceof KeyTaken)) throw err;
      const winner = await replay();
      if (winner) return winner;
      throw err;
    }
  }
}
