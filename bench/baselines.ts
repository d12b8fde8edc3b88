import jwt from '@fastify/jwt';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import postgres from 'postgres';

/**
 * The two baselines of `npm run bench`, in their own process:
 * - GET /bare: a bare Fastify route returning a small JSON object;
 * - POST /floor: the least any endpoint of ours must do, written as plainly as possible with the
 *   same drivers: verify an HS256 token, one Redis GET, one INSERT (postgres.js tagged template).
 * Env: PORT, DATABASE_URL, REDIS_URL, JWT_SECRET.
 */
const env = process.env as Record<string, string>;
const sql = postgres(env.DATABASE_URL as string, { max: 10, onnotice: () => {} });
const redis = new Redis(env.REDIS_URL as string);
await sql`create table if not exists bench_floor (
  id uuid primary key default gen_random_uuid(),
  citizen_id text not null,
  created_at timestamptz not null default now())`;

const app = Fastify({ logger: false });
await app.register(jwt, { secret: env.JWT_SECRET as string, verify: { algorithms: ['HS256'] } });

app.get('/bare', async () => ({ status: 'ok' }));

app.post<{ Body: { citizen_id: string } }>('/floor', async (request) => {
  const claims = await request.jwtVerify<{ jti: string }>();
  const revoked = await redis.get(`bench:denylist:${claims.jti}`);
  if (revoked) throw new Error('revoked');
  const [row] = await sql`insert into bench_floor (citizen_id) values (${request.body.citizen_id})
    returning id, created_at`;
  return { id: row?.id, created_at: row?.created_at };
});

const close = async () => {
  await app.close();
  await sql.end({ timeout: 2 });
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
await app.listen({ host: '127.0.0.1', port: Number(env.PORT) });
process.stdout.write('baselines ready\n');
