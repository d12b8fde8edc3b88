import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type DocumentAuthentication, documentAuthentications } from './authentications.table.js';

/** Every query of the document_authentications table (decisions go through the outbox). */

export type NewAuthentication = typeof documentAuthentications.$inferInsert;

export async function insertAuthentication(db: Executor, row: NewAuthentication): Promise<void> {
  await db.insert(documentAuthentications).values(row);
}

export async function findAuthentication(
  db: Executor,
  id: string,
): Promise<DocumentAuthentication | undefined> {
  const [row] = await db
    .select()
    .from(documentAuthentications)
    .where(eq(documentAuthentications.id, id));
  return row;
}
