import type { ConfirmChannel } from 'amqplib';

/**
 * Every RabbitMQ name this service uses, derived from one exchange name (AMQP_EXCHANGE), and the
 * declarations that create them. Declarations are idempotent, so each process declares what it
 * relies on at every (re)connect.
 *
 * - `<x>` (topic): every event. Its alternate exchange `<x>.unrouted` (fanout) keeps events that
 *   no queue is bound to in the `<x>.unrouted` queue: never silently dropped.
 * - `<x>.dead-letter` (direct): where work queues send the messages they reject.
 * - A work queue (quorum) is bound to the exchange under its routing keys; the messages it
 *   rejects go to `<queue>.dead-letter`, and `<queue>.retry.<ms>ms` delay queues hold a message
 *   `ms`, then send it back (see workQueue()).
 */
export interface Topology {
  exchange: string;
  unroutedExchange: string;
  unroutedQueue: string;
  deadLetterExchange: string;
}

/** A queue a consumer takes requests from, with its dead-letter and delay queues. */
export interface WorkQueue {
  queue: string;
  /** Routing keys it is bound to on the topic exchange. */
  bindingKeys: string[];
  deadLetterQueue: string;
  retryQueues: { delayMs: number; queue: string }[];
}

export function topology(exchange: string): Topology {
  return {
    exchange,
    unroutedExchange: `${exchange}.unrouted`,
    unroutedQueue: `${exchange}.unrouted`,
    deadLetterExchange: `${exchange}.dead-letter`,
  };
}

export function workQueue(
  queue: string,
  bindingKeys: string[],
  retryDelaysMs: readonly number[],
): WorkQueue {
  return {
    queue,
    bindingKeys,
    deadLetterQueue: `${queue}.dead-letter`,
    retryQueues: delayQueues(queue, retryDelaysMs),
  };
}

const quorum = { 'x-queue-type': 'quorum' };

/** What a publisher (the outbox relay) needs: the exchange and its alternate exchange. */
export async function declareExchanges(ch: ConfirmChannel, t: Topology): Promise<void> {
  await ch.assertExchange(t.unroutedExchange, 'fanout', { durable: true });
  await ch.assertQueue(t.unroutedQueue, { durable: true, arguments: quorum });
  await ch.bindQueue(t.unroutedQueue, t.unroutedExchange, '');
  await ch.assertExchange(t.exchange, 'topic', {
    durable: true,
    alternateExchange: t.unroutedExchange,
  });
}

/** What a consumer needs: its work queue, bound, with its dead-letter and delay queues. */
export async function declareWorkQueue(
  ch: ConfirmChannel,
  t: Topology,
  w: WorkQueue,
): Promise<void> {
  await ch.assertExchange(t.deadLetterExchange, 'direct', { durable: true });
  await ch.assertQueue(w.deadLetterQueue, { durable: true, arguments: quorum });
  await ch.bindQueue(w.deadLetterQueue, t.deadLetterExchange, w.queue);
  await ch.assertQueue(w.queue, {
    durable: true,
    arguments: {
      ...quorum,
      'x-dead-letter-exchange': t.deadLetterExchange,
      'x-dead-letter-routing-key': w.queue,
    },
  });
  for (const key of w.bindingKeys) await ch.bindQueue(w.queue, t.exchange, key);
  await declareDelayQueues(ch, w.retryQueues, w.queue);
}

/**
 * A queue whose name other services fix (e.g. `register.citizen.requested`, fed through the
 * default exchange with routing key = its name), with a dead-letter queue and delay queues of
 * our own. It is declared durable and nothing more, as its other users would declare it: any
 * argument (a queue type, a dead-letter exchange) would make the declarations clash. So a
 * message is dead-lettered by sending it to `deadLetterQueue`, and a delay queue sends it back
 * through the default exchange.
 */
export interface SharedQueue {
  queue: string;
  deadLetterQueue: string;
  retryQueues: { delayMs: number; queue: string }[];
}

/** `ours` names our side queues: `<exchange>.<ours>.dead-letter`, `…retry.<ms>ms`. */
export function sharedQueue(
  t: Topology,
  queue: string,
  ours: string,
  retryDelaysMs: readonly number[],
): SharedQueue {
  const prefix = `${t.exchange}.${ours}`;
  return {
    queue,
    deadLetterQueue: `${prefix}.dead-letter`,
    retryQueues: delayQueues(prefix, retryDelaysMs),
  };
}

/**
 * Declares a shared queue (durable, bound to our exchange under its own name too), its
 * dead-letter and delay queues, and `replyQueues`: the durable queues our answers go to
 * through the default exchange, so they wait for a requester that is down.
 */
export async function declareSharedQueue(
  ch: ConfirmChannel,
  t: Topology,
  q: SharedQueue,
  replyQueues: string[],
): Promise<void> {
  await ch.assertQueue(q.queue, { durable: true });
  await ch.bindQueue(q.queue, t.exchange, q.queue);
  await ch.assertQueue(q.deadLetterQueue, { durable: true, arguments: quorum });
  await declareDelayQueues(ch, q.retryQueues, q.queue);
  for (const reply of replyQueues) await ch.assertQueue(reply, { durable: true });
}

/** `<prefix>.retry.<ms>ms`: one delay queue per retry delay. */
function delayQueues(prefix: string, retryDelaysMs: readonly number[]) {
  return retryDelaysMs.map((delayMs) => ({ delayMs, queue: `${prefix}.retry.${delayMs}ms` }));
}

/** Delay queues hold a message their time, then send it back to `target` (default exchange). */
async function declareDelayQueues(
  ch: ConfirmChannel,
  retryQueues: { delayMs: number; queue: string }[],
  target: string,
): Promise<void> {
  for (const { delayMs, queue } of retryQueues) {
    await ch.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-message-ttl': delayMs,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': target,
      },
    });
  }
}
