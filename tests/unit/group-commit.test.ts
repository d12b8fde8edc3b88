import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/messaging/group-commit.js';
import { rowError } from '../../src/messaging/outbox.js';

describe('GroupCommit', () => {
  /** A writer that records each write and finishes it when told. */
  function writer(fail: (items: number[]) => boolean = () => false) {
    const writes: number[][] = [];
    const pending: (() => void)[] = [];
    const write = (items: number[]) =>
      new Promise<void>((resolve, reject) => {
        writes.push(items);
        pending.push(() => (fail(items) ? reject(new Error(`cannot write ${items}`)) : resolve()));
      });
    /** Finishes writes until none is left (a finished write schedules the next one a turn later). */
    const finishAll = async () => {
      for (let idle = 0; idle < 3; idle++) {
        if (pending.length > 0) idle = 0;
        for (const done of pending.splice(0)) done();
        await new Promise((r) => setImmediate(r));
      }
    };
    return { writes, write, finishAll };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it('writes a lone item at the end of the turn, alone', async () => {
    const w = writer();
    const group = new GroupCommit(w.write, 10);
    const done = group.add(1);
    await tick();
    expect(w.writes).toEqual([[1]]);
    await w.finishAll();
    await done;
  });

  it('sends what arrived during a write together in the next one, up to maxItems', async () => {
    const w = writer();
    const group = new GroupCommit(w.write, 3);
    const all = [group.add(1)];
    await tick();
    for (const n of [2, 3, 4, 5]) all.push(group.add(n));
    await tick();
    expect(w.writes).toEqual([[1]]); // one write in flight at a time
    await w.finishAll();
    await Promise.all(all);
    expect(w.writes).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('fails only the item that cannot be written: a failed batch is written again item by item', async () => {
    const w = writer((items) => items.includes(3));
    const group = new GroupCommit(w.write, 10);
    const results = Promise.allSettled([2, 3, 4].map((n) => group.add(n)));
    await tick();
    await w.finishAll();
    expect((await results).map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(w.writes).toEqual([[2, 3, 4], [2], [3], [4]]);
  });

  it('fails the whole batch at once, without a write per item, when no item is to blame', async () => {
    const w = writer(() => true); // e.g. the database is away
    const group = new GroupCommit(w.write, 10, () => false);
    const results = Promise.allSettled([2, 3, 4].map((n) => group.add(n)));
    await tick();
    await w.finishAll();
    expect((await results).map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(w.writes).toEqual([[2, 3, 4]]);
  });

  it('blames a row for a value or a constraint, not for a connection (the outbox)', () => {
    const failure = (code: string) =>
      new Error('Failed query: …', { cause: Object.assign(new Error('x'), { code }) });
    expect(rowError(failure('23505'))).toBe(true); // unique violation
    expect(rowError(failure('22001'))).toBe(true); // value too long
    expect(rowError(failure('ECONNREFUSED'))).toBe(false);
    expect(rowError(failure('CONNECTION_CLOSED'))).toBe(false);
    expect(rowError(failure('57P01'))).toBe(false); // the server shut down
    expect(rowError(new Error('timeout'))).toBe(false);
  });
});
