import type { Executor } from '../../db/client.js';
import { operatorRegistrations } from './operator-registrations.table.js';

/** Every query of the operator_registrations table. */
export async function recordRegistrationStep(
  db: Executor,
  row: typeof operatorRegistrations.$inferInsert,
): Promise<void> {
  await db.insert(operatorRegistrations).values(row);
}
