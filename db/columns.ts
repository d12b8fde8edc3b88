import { timestamp } from 'drizzle-orm/pg-core';

/** A point in time, stored with its time zone (`timestamptz`). */
export const at = (name: string) => timestamp(name, { withTimezone: true });

/** When the row was written: `now()` unless given. */
export const createdAt = (name = 'created_at') => at(name).notNull().defaultNow();
