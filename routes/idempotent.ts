import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SaveAnswer } from '../src/idempotency/idempotency.service.js';
import type { Caller } from '../src/shared/caller.js';

/**
 * Runs a POST's use case under its Idempotency-Key (src/idempotency/idempotency.service.ts) and
 * sends the answer (`statusCode`), marking replays with `Idempotent-Replayed: true`. The use case
 * gets the caller and the `save` to call inside its transaction.
 */
export async function answerIdempotently<T>(
  request: FastifyRequest & { user: { sub: string } },
  reply: FastifyReply,
  scope: string,
  work: (caller: Caller, save: SaveAnswer | undefined) => Promise<T>,
  statusCode = 200,
): Promise<T> {
  const caller = { requestedBy: request.user.sub, requestId: String(request.id) };
  const key = request.headers['idempotency-key'];
  const answer = await request.server.idempotency.run(
    { principal: request.user.sub, scope, key: typeof key === 'string' ? key : undefined },
    request.body,
    async (save) => ({ statusCode, body: await work(caller, save) }),
  );
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  reply.code(answer.statusCode);
  return answer.body as T;
}
