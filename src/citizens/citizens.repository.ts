import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type Citizen, citizens } from './citizens.table.js';

/** Every query of the citizens table. */

export async function findCitizen(db: Executor, citizenId: string): Promise<Citizen | undefined> {
  const [row] = await db.select().from(citizens).where(eq(citizens.citizenId, citizenId));
  return row;
}

/** Records a citizen as registered with `operatorId` (again, if it had left). */
export async function saveRegistered(
  db: Executor,
  row: Pick<Citizen, 'citizenId' | 'name' | 'address' | 'email' | 'operatorId'>,
  at: Date,
): Promise<void> {
  const values = { ...row, status: 'REGISTERED' as const, registeredAt: at, unregisteredAt: null };
  await db
    .insert(citizens)
    .values({ ...values, updatedAt: at })
    .onConflictDoUpdate({ target: citizens.citizenId, set: { ...values, updatedAt: at } });
}

/** Records a citizen as no longer registered with us; false when we had no record of it. */
export async function saveUnregistered(
  db: Executor,
  citizenId: string,
  at: Date,
): Promise<boolean> {
  const rows = await db
    .update(citizens)
    .set({ status: 'UNREGISTERED', unregisteredAt: at, updatedAt: at })
    .where(eq(citizens.citizenId, citizenId))
    .returning({ id: citizens.citizenId });
  return rows.length > 0;
}
