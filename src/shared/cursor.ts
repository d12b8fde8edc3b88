import { z } from 'zod';

/** Where a newest-first page of rows ended: its last row's time and id (keyset pagination). */
export interface Cursor {
  at: Date;
  id: string;
}

export const encodeCursor = (c: Cursor) =>
  Buffer.from(JSON.stringify([c.at.toISOString(), c.id])).toString('base64url');

/** Returns undefined for anything that is not a cursor this service made. */
export function decodeCursor(text: string): Cursor | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, 'base64url').toString()) as unknown[];
    const time = new Date(String(at));
    if (Number.isNaN(time.getTime()) || typeof id !== 'string') return undefined;
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    return { at: time, id };
  } catch {
    return undefined;
  }
}

/** The `cursor` query parameter: a `next_cursor` from a previous page. */
export const cursorSchema = z
  .string()
  .max(200)
  .transform((text, ctx) => {
    const cursor = decodeCursor(text);
    if (!cursor) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor from a previous page' });
      return z.NEVER;
    }
    return cursor;
  });

/** A page of rows fetched with one extra: the items and the cursor of the next page, if any. */
export function page<R extends { id: string }, V>(
  rows: R[],
  limit: number,
  at: (row: R) => Date,
  view: (row: R) => V,
): { items: V[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    next_cursor: rows.length > limit && last ? encodeCursor({ at: at(last), id: last.id }) : null,
  };
}
