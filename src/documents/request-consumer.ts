import type { ConsumeMessage } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import type { Counter } from 'prom-client';
import { HubError } from '../hub/client.js';
import { hubFailureReason } from '../hub/failures.js';
import type { HubGateway } from '../hub/gateway.js';
import type { Broker } from '../messaging/broker.js';
import type { ConsumeOutcome } from '../messaging/metrics.js';
import { type WorkQueue, workQueue } from '../messaging/topology.js';
import type { Completion, DocumentService } from './documents.service.js';
import { type AuthenticationRequest, authenticationRequested } from './events.js';

/**
 * The queue of `document.authentication.requested` (`<exchange>.document-authentication`), with
 * a delay queue per hub retry.
 */
export function documentRequestsQueue(exchange: string, retryDelaysMs: readonly number[]) {
  return workQueue(
    `${exchange}.document-authentication`,
    [authenticationRequested.routingKey],
    retryDelaysMs,
  );
}

/** Header counting the hub attempts already made for one request message. */
export const ATTEMPT_HEADER = 'x-hub-attempts';

export interface ConsumerOptions {
  broker: Broker;
  queue: WorkQueue;
  hub: HubGateway;
  documents: DocumentService;
  log: FastifyBaseLogger;
  consumed: Counter<'outcome'>;
  /** Pause before requeueing a message our own dependencies failed on (no hot loop). */
  requeueDelayMs: number;
}

/**
 * Consumes `document.authentication.requested`: asks the hub, records the result and its
 * `document.authentication.completed` event through the outbox, then acks.
 *
 * - A redelivered message already in the inbox is acked without asking the hub again; its event
 *   was written with its result, so the relay publishes it if it never was.
 * - Hub failures go to the next delay queue (TTL, then back to the work queue); when the delays
 *   are used up, the request completes as not authenticated, saying why.
 * - A message that is not a valid request is rejected without requeue: the dead-letter queue.
 */
export class DocumentRequestConsumer {
  private readonly inflight = new Set<Promise<void>>();
  /** Requests being processed here, by messageId: a concurrent duplicate waits for the first. */
  private readonly active = new Map<string, Promise<unknown>>();

  constructor(private readonly o: ConsumerOptions) {}

  async start(): Promise<void> {
    await this.o.broker.channel.consume(this.o.queue.queue, (msg) => {
      const job = this.handle(msg).finally(() => this.inflight.delete(job));
      this.inflight.add(job);
    });
  }

  /** Stops taking messages and waits for those in hand. */
  async stop(): Promise<void> {
    await this.o.broker.channel.cancelAll().catch(() => {});
    await Promise.allSettled([...this.inflight]);
  }

  async handle(msg: ConsumeMessage): Promise<void> {
    const outcome = await this.process(msg).catch(async (err: unknown) => {
      // Postgres (or the broker) failed us, not the message: try it again shortly.
      this.o.log.error({ err: { message: (err as Error).message } }, 'request failed; requeued');
      await new Promise((r) => setTimeout(r, this.o.requeueDelayMs));
      this.o.broker.channel.nack(msg, false, true);
      return 'failed' as const;
    });
    this.o.consumed.inc({ outcome });
  }

  private async process(msg: ConsumeMessage): Promise<ConsumeOutcome> {
    const channel = this.o.broker.channel;
    const parsed = authenticationRequested.schema.safeParse(safeJson(msg.content));
    if (!parsed.success) {
      this.o.log.warn(
        {
          message_id: clip(msg.properties.messageId),
          problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 5),
        },
        'malformed request message sent to the dead-letter queue',
      );
      channel.nack(msg, false, false);
      return 'malformed';
    }
    const request = parsed.data;
    const log = this.o.log.child({ message_id: clip(request.messageId) });
    const earlier = this.active.get(request.messageId);
    if (earlier) await earlier.catch(() => {});
    const done = this.authenticate(msg, request, log);
    this.active.set(request.messageId, done);
    try {
      return await done;
    } finally {
      if (this.active.get(request.messageId) === done) this.active.delete(request.messageId);
    }
  }

  private async authenticate(
    msg: ConsumeMessage,
    request: AuthenticationRequest,
    log: FastifyBaseLogger,
  ): Promise<ConsumeOutcome> {
    const channel = this.o.broker.channel;
    if (await this.o.documents.handled(request.messageId)) {
      log.info('request already handled; acknowledged again');
      channel.ack(msg);
      return 'duplicate';
    }

    const attempts = Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 0) + 1;
    let completion: Completion;
    try {
      const answer = await this.o.hub.authenticateDocument(request);
      completion = { kind: 'answered', ...answer };
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      const next = this.o.queue.retryQueues[attempts - 1];
      if (next) {
        await channel.sendToQueue(next.queue, msg.content, {
          persistent: true,
          contentType: msg.properties.contentType ?? 'application/json',
          messageId: msg.properties.messageId,
          headers: { ...msg.properties.headers, [ATTEMPT_HEADER]: attempts },
        });
        channel.ack(msg);
        log.warn(
          { attempts, retry_in_ms: next.delayMs, failure: err.failure },
          'hub failed; retry scheduled',
        );
        return 'retried';
      }
      completion = {
        kind: 'gave_up',
        message: `Not authenticated: ${hubFailureReason(err)} after ${attempts} attempts`,
      };
    }
    const first = await this.o.documents.complete(request, completion);
    channel.ack(msg);
    if (!first) return 'duplicate';
    log.info({ outcome: completion.kind, attempts }, 'document authentication completed');
    return completion.kind === 'gave_up' ? 'gave_up' : 'completed';
  }
}

function safeJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
}

const clip = (v: unknown) => (v === undefined ? undefined : String(v).slice(0, 100));
