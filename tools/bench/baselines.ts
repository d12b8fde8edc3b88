import jwt from '@fastify/jwt';
import { connect as amqpConnect } from 'amqplib';
import Fastify, { type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import postgres from 'postgres';

/**
 * The two baselines of `npm run bench`, in their own process:
 * - GET /bare: a bare Fastify route returning a small JSON object;
 * - POST /floor: the least any endpoint of ours must do, written as plainly as possible with the
 *   same drivers: verify an HS256 token, one Redis GET, one INSERT (postgres.js tagged template);
 * - POST /floor-event: the floor, then one persistent message per request to a durable quorum
 *   queue, awaiting the broker's confirm (amqplib): what announcing each decision costs at least,
 *   without an outbox (a reference the budget does not use; see docs/performance.md).
 * Env: PORT, DATABASE_URL, REDIS_URL, JWT_SECRET, AMQP_URL, FLOOR_QUEUE.
 */
const env = process.env as Record<string, string>;
const sql = postgres(env.DATABASE_URL as string, { max: 10, onnotice: () => {} });
const redis = new Redis(env.REDIS_URL as string);
await sql`create table if not exists bench_floor (
  id uuid primary key default gen_random_uuid(),
  citizen_id text not null,
  created_at timestamptz not null default now())`;

const amqp = await amqpConnect(env.AMQP_URL as string);
const channel = await amqp.createConfirmChannel();
const queue = env.FLOOR_QUEUE as string;
await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
const publish = (body: object) =>
  new Promise<void>((resolve, reject) => {
    channel.publish('', queue, Buffer.from(JSON.stringify(body)), { persistent: true }, (err) =>
      err ? reject(err) : resolve(),
    );
  });

const app = Fastify({ logger: false });
await app.register(jwt, { secret: env.JWT_SECRET as string, verify: { algorithms: ['HS256'] } });

app.get('/bare', async () => ({ status: 'ok' }));

type FloorRequest = FastifyRequest<{ Body: { citizen_id: string } }>;

async function floor(request: FloorRequest) {
  const claims = await request.jwtVerify<{ jti: string }>();
  const revoked = await redis.get(`bench:denylist:${claims.jti}`);
  if (revoked) throw new Error('revoked');
  const [row] = await sql`insert into bench_floor (citizen_id) values (${request.body.citizen_id})
    returning id, created_at`;
  return { id: row?.id, created_at: row?.created_at };
}

app.post('/floor', floor);
app.post('/floor-event', async (request: FloorRequest) => {
  const answer = await floor(request);
  await publish(answer);
  return answer;
});

const close = async () => {
  await app.close();
  await sql.end({ timeout: 2 });
  await amqp.close().catch(() => {});
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
// The collector of the traced service (OTLP/HTTP, protobuf by default): takes and drops exports.
app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_req, body, done) =>
  done(null, body),
);
app.post('/v1/traces', async () => ({}));

await app.listen({ host: '127.0.0.1', port: Number(env.PORT) });
process.stdout.write('baselines ready\n');
