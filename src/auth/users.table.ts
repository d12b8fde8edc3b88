import { sql } from 'drizzle-orm';
import { pgEnum, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { at, createdAt } from '../../db/columns.js';
import { ROLES } from '../shared/enums.js';

export const roleEnum = pgEnum('role', ROLES);

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** Stored lower-case; login is case-insensitive on the username. */
  username: text('username').notNull().unique(),
  /** scrypt, self-describing (`scrypt$N$r$p$salt$hash`). */
  passwordHash: text('password_hash').notNull(),
  roles: roleEnum('roles').array().notNull().default(sql`'{}'::role[]`),
  disabledAt: at('disabled_at'),
  createdAt: createdAt(),
});

export type User = typeof users.$inferSelect;
