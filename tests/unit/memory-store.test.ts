import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/stores/memory-store.js';

describe('MemoryStore (embedded stand-in for Redis)', () => {
  let clock = 1_000_000;
  let store: MemoryStore;
  const make = (max?: number) => {
    store = new MemoryStore(max, () => clock);
    return store;
  };
  afterEach(() => store.close());

  it('counts within a window that starts at the first increment', async () => {
    const s = make();
    expect(await s.increment('k', 1000)).toEqual({ count: 1, resetInMs: 1000 });
    clock += 400;
    expect(await s.increment('k', 1000)).toEqual({ count: 2, resetInMs: 600 });
    expect(await s.peek('k')).toEqual({ count: 2, resetInMs: 600 });
    clock += 600;
    expect(await s.peek('k')).toEqual({ count: 0, resetInMs: 0 });
    expect((await s.increment('k', 1000)).count).toBe(1);
    await s.delete('k');
    expect((await s.peek('k')).count).toBe(0);
  });

  it('expires flags after their time to live', async () => {
    const s = make();
    await s.setFlags(['a', 'b'], 500);
    await s.set('v', 'value', 1000);
    expect(await s.getMany(['x', 'b', 'v'])).toEqual([null, '1', 'value']);
    clock += 500;
    expect(await s.getMany(['a', 'b', 'v'])).toEqual([null, null, 'value']);
  });

  it('keeps string values until their time to live', async () => {
    const s = make();
    expect(await s.get('v')).toBeNull();
    await s.set('v', 'answer', 300);
    expect(await s.get('v')).toBe('answer');
    clock += 300;
    expect(await s.get('v')).toBeNull();
  });

  it('stays bounded, dropping the entries closest to expiry first', async () => {
    const s = make(3);
    await s.setFlags(['soon'], 100);
    await s.setFlags(['later'], 10_000);
    await s.setFlags(['latest'], 20_000);
    await s.setFlags(['new'], 5_000);
    expect(await s.getMany(['soon', 'later', 'latest', 'new'])).toEqual([null, '1', '1', '1']);
  });
});
