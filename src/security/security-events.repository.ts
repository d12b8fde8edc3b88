import { and, asc, desc, eq, gt, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type SecurityEventRow, securityEvents } from './security-events.table.js';

export interface SecurityEventFilter {
  kind?: string | undefined;
  subject?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** The `seq` of the last row of the previous page: newer pages come first. */
  before?: number | undefined;
  limit: number;
}

/** Newest first, a page at a time (keyset on seq). */
export function listSecurityEvents(
  db: Executor,
  f: SecurityEventFilter,
): Promise<SecurityEventRow[]> {
  const where: SQL[] = [];
  if (f.kind) where.push(eq(securityEvents.kind, f.kind));
  if (f.subject) where.push(eq(securityEvents.subject, f.subject));
  if (f.since) where.push(gte(securityEvents.at, f.since));
  if (f.until) where.push(lte(securityEvents.at, f.until));
  if (f.before !== undefined) where.push(lt(securityEvents.seq, f.before));
  return db
    .select()
    .from(securityEvents)
    .where(and(...where))
    .orderBy(desc(securityEvents.seq))
    .limit(f.limit);
}

/** Every row in chain order, read a page at a time (the verifier walks it). */
export async function* chainInOrder(
  db: Executor,
  pageSize = 1000,
): AsyncGenerator<SecurityEventRow> {
  let after = 0;
  for (;;) {
    const page = await db
      .select()
      .from(securityEvents)
      .where(gt(securityEvents.seq, after))
      .orderBy(asc(securityEvents.seq))
      .limit(pageSize);
    yield* page;
    if (page.length < pageSize) return;
    after = (page.at(-1) as SecurityEventRow).seq;
  }
}
