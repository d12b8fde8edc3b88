import { describe, expect, it } from 'vitest';
import { type ChainedFields, chainHash, firstBreak, GENESIS } from '../../src/security/chain.js';

const KEY = 'k'.repeat(40);
type Row = ChainedFields & { prevHash: string; hash: string };

function chain(n: number): Row[] {
  const rows: Row[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const fields = {
      seq,
      at: new Date(Date.UTC(2026, 11, 2, 0, 0, seq)),
      kind: 'login_failed',
      subject: `u-${seq}`,
      source: '10.0.0.1',
      requestId: `r-${seq}`,
      detail: { reason: 'wrong_password', n: seq },
    };
    const hash = chainHash(KEY, prev, fields);
    rows.push({ ...fields, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}
async function* rowsOf(rows: Row[]) {
  yield* rows;
}
const check = (rows: Row[], key = KEY) => firstBreak(key, rowsOf(rows));

describe('the security log hash chain', () => {
  it('holds for rows as written, whatever order the detail keys come back in', async () => {
    const rows = chain(5);
    const reordered = rows.map((r) => ({
      ...r,
      detail: { n: r.seq, reason: 'wrong_password' },
    }));
    expect(await check(reordered)).toEqual({ checked: 5, broken: null });
  });

  it('finds an edited row at that row', async () => {
    const rows = chain(5);
    (rows[2] as Row).subject = 'someone-else';
    expect((await check(rows)).broken).toMatchObject({
      seq: 3,
      problem: expect.stringContaining('edited'),
    });
  });

  it('finds a removed row at the next one, and an inserted or re-hashed row without the key', async () => {
    const rows = chain(5);
    expect((await check([...rows.slice(0, 2), ...rows.slice(3)])).broken).toMatchObject({ seq: 4 });
    // renumbered to hide the gap: the next row's previous hash gives it away
    const renumbered = [
      ...rows.slice(0, 2),
      ...rows.slice(3).map((r) => ({ ...r, seq: r.seq - 1 })),
    ];
    expect((await check(renumbered)).broken?.seq).toBe(3);
    // a row re-hashed with another key (the attacker lacks ours)
    const forged = chain(5);
    const victim = forged[1] as Row;
    victim.subject = 'x';
    victim.hash = chainHash('guessed-key-guessed-key-guessed-key', victim.prevHash, victim);
    expect((await check(forged)).broken?.seq).toBe(2);
  });
});
