import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../db/client.js';
import { verifyPassword } from '../../src/auth/passwords.js';
import { findUserByUsername } from '../../src/auth/users.repository.js';
import { ensureBootstrapAdmin } from '../../src/auth/users.service.js';

let database: Database;
beforeAll(async () => {
  database = await createDatabase({ dataDir: 'memory://' });
  await database.migrate();
});
afterAll(() => database.close());

it('creates one admin on an empty database, with the password it returns, and only once', async () => {
  const password = await ensureBootstrapAdmin(database.db, 'Root');
  expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
  const admin = await findUserByUsername(database.db, 'root');
  expect(admin?.roles).toEqual(['admin']);
  expect(await verifyPassword(password as string, admin?.passwordHash as string)).toBe(true);
  expect(await ensureBootstrapAdmin(database.db, 'root')).toBeUndefined();
});
