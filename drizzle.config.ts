import { defineConfig } from 'drizzle-kit';

// Used by `npm run db:generate` (drizzle-kit) to write SQL migrations into migrations/.
// Applying them is `npm run migrate`, which works on Postgres and on the embedded PGlite.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/**/*.table.ts',
  out: './migrations',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  strict: true,
});
