import type { ConsumeMessage } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import { HubError } from '../hub/client.js';
import { hubFailureReason } from '../hub/failures.js';
import type { HubGateway } from '../hub/gateway.js';
import { type ConsumerBase, clip, RequestConsumer } from '../messaging/consume.js';
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

export interface ConsumerOptions extends Omit<ConsumerBase, 'queue'> {
  queue: WorkQueue;
  hub: HubGateway;
  documents: DocumentService;
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
export class DocumentRequestConsumer extends RequestConsumer {
  constructor(private readonly o: ConsumerOptions) {
    super({ ...o, queue: o.queue.queue });
  }

  protected async process(msg: ConsumeMessage): Promise<ConsumeOutcome> {
    const request = this.parse(msg, authenticationRequested.schema);
    if (!request) {
      this.o.broker.channel.nack(msg, false, false); // its dead-letter exchange takes it
      return 'malformed';
    }
    const log = this.o.log.child({ message_id: clip(request.messageId) });
    return this.oneAtATime(request.messageId, () => this.authenticate(msg, request, log));
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

    const attempts = this.attemptOf(msg);
    let completion: Completion;
    try {
      const answer = await this.o.hub.authenticateDocument(request);
      completion = { kind: 'answered', ...answer };
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      const next = this.o.queue.retryQueues[attempts - 1];
      if (next) return this.retryLater(msg, next, attempts, log, err.failure);
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
