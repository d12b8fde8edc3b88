import type { ConfirmChannel } from 'amqplib';

/**
 * Every RabbitMQ name this service uses, derived from one exchange name (AMQP_EXCHANGE), and the
 * declarations that create them. Declarations are idempotent, so the API and the worker both
 * declare what they rely on at every (re)connect.
 *
 * - `<x>` (topic): every event. Its alternate exchange `<x>.unrouted` (fanout) keeps events that
 *   no queue is bound to in the `<x>.unrouted` queue: never silently dropped.
 * - `<x>.document-authentication` (quorum): `document.authentication.requested`, for the worker.
 *   Malformed messages are dead-lettered through `<x>.dead-letter` into
 *   `<x>.document-authentication.dead-letter`.
 * - `<x>.document-authentication.retry.<ms>ms`: delay queues. A message waits there `ms`, then
 *   dead-letters back into the work queue.
 */
export interface Topology {
  exchange: string;
  unroutedExchange: string;
  unroutedQueue: string;
  deadLetterExchange: string;
  requestsQueue: string;
  deadLetterQueue: string;
  retryQueues: { delayMs: number; queue: string }[];
}

export const REQUESTED_KEY = 'document.authentication.requested';

export function topology(exchange: string, retryDelaysMs: number[] = []): Topology {
  const requestsQueue = `${exchange}.document-authentication`;
  return {
    exchange,
    unroutedExchange: `${exchange}.unrouted`,
    unroutedQueue: `${exchange}.unrouted`,
    deadLetterExchange: `${exchange}.dead-letter`,
    requestsQueue,
    deadLetterQueue: `${requestsQueue}.dead-letter`,
    retryQueues: retryDelaysMs.map((delayMs) => ({
      delayMs,
      queue: `${requestsQueue}.retry.${delayMs}ms`,
    })),
  };
}

/** What the publisher (the outbox relay) needs: the exchange and its alternate exchange. */
export async function declareExchanges(ch: ConfirmChannel, t: Topology): Promise<void> {
  await ch.assertExchange(t.unroutedExchange, 'fanout', { durable: true });
  await ch.assertQueue(t.unroutedQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await ch.bindQueue(t.unroutedQueue, t.unroutedExchange, '');
  await ch.assertExchange(t.exchange, 'topic', {
    durable: true,
    alternateExchange: t.unroutedExchange,
  });
}

/** What the worker needs: its work queue, the dead-letter queue and the delay queues. */
export async function declareWorkerQueues(ch: ConfirmChannel, t: Topology): Promise<void> {
  await declareExchanges(ch, t);
  await ch.assertExchange(t.deadLetterExchange, 'direct', { durable: true });
  await ch.assertQueue(t.deadLetterQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await ch.bindQueue(t.deadLetterQueue, t.deadLetterExchange, t.requestsQueue);
  await ch.assertQueue(t.requestsQueue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': t.deadLetterExchange,
      'x-dead-letter-routing-key': t.requestsQueue,
    },
  });
  await ch.bindQueue(t.requestsQueue, t.exchange, REQUESTED_KEY);
  for (const { delayMs, queue } of t.retryQueues) {
    await ch.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-message-ttl': delayMs,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': t.requestsQueue,
      },
    });
  }
}
