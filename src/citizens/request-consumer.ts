import type { ConsumeMessage } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import type { Executor } from '../../db/client.js';
import { type ConsumerBase, clip, RequestConsumer } from '../messaging/consume.js';
import type { ConsumeOutcome } from '../messaging/metrics.js';
import type { Outbox } from '../messaging/outbox.js';
import type { SharedQueue } from '../messaging/topology.js';
import { sha256Hex, uuidFromName } from '../shared/hashing.js';
import type { CitizenActionRow } from './citizen-actions.table.js';
import type { ActionResult, CitizenService, Identity, Requester } from './citizens.service.js';
import {
  registerCitizenCompleted,
  registerCitizenRequested,
  unregisterCitizenCompleted,
  unregisterCitizenRequested,
} from './events.js';

export type CitizenRequestKind = 'register' | 'unregister';

/** The shared queue of each kind, with our dead-letter and delay queues beside it. */
export const CITIZEN_QUEUES = {
  register: {
    queue: registerCitizenRequested.routingKey,
    ours: 'register-citizen',
    reply: registerCitizenCompleted,
  },
  unregister: {
    queue: unregisterCitizenRequested.routingKey,
    ours: 'unregister-citizen',
    reply: unregisterCitizenCompleted,
  },
} as const;

export interface CitizenConsumerOptions extends Omit<ConsumerBase, 'queue'> {
  kind: CitizenRequestKind;
  queue: SharedQueue;
  citizens: CitizenService;
  outbox: Outbox;
  identity: Identity;
}

/** The answer to a request, from its completed action. */
function answerOf(kind: CitizenRequestKind, id: string, action: CitizenActionRow, us: Identity) {
  if (kind === 'register') {
    const statusCode = {
      REGISTERED: 201,
      ALREADY_REGISTERED: 501,
      REFUSED: 403,
      ERROR: 503,
    }[action.outcome as 'REGISTERED'];
    return { id: Number(id), statusCode: statusCode ?? 503, message: action.message };
  }
  return {
    id: Number(id),
    operatorId: us.id,
    success: action.outcome === 'UNREGISTERED',
    message: action.message,
  };
}

/**
 * Consumes `register.citizen.requested` or `unregister.citizen.requested` from the platform's
 * affiliation service (interop.md §2) and answers `….completed`, on the default exchange
 * (routing key = its name, as the requester listens) and on our exchange, through the outbox, in
 * the transaction that completes the action.
 *
 * - Another operator's request (`operatorId` not ours) is refused in the answer (403 / success
 *   false), never sent to the hub.
 * - A redelivered message finds its action: completed, it is acked (its answer was written with
 *   it, and the relay publishes it if it never was); PENDING, the hub is asked again, settled
 *   first (its earlier try may have reached the hub).
 * - Hub outages go to the next delay queue; when the delays are used up the requester still gets
 *   an answer (503 / success false).
 * - A message that is not a valid request goes to our dead-letter queue at once.
 */
export class CitizenRequestConsumer extends RequestConsumer {
  constructor(private readonly o: CitizenConsumerOptions) {
    super({ ...o, queue: o.queue.queue });
  }

  protected async process(msg: ConsumeMessage): Promise<ConsumeOutcome> {
    const schema =
      this.o.kind === 'register'
        ? registerCitizenRequested.schema
        : unregisterCitizenRequested.schema;
    const request = this.parse(msg, schema);
    const channel = this.o.broker.channel;
    if (!request) {
      await channel.sendToQueue(this.o.queue.deadLetterQueue, msg.content, {
        persistent: true,
        contentType: msg.properties.contentType ?? 'application/json',
        messageId: msg.properties.messageId,
        headers: { ...msg.properties.headers, 'x-dead-letter-reason': 'malformed' },
      });
      channel.ack(msg);
      return 'malformed';
    }
    // A message is one ask: by its messageId, else by its body (senders may set no id).
    const key = msg.properties.messageId
      ? String(msg.properties.messageId)
      : `sha256:${sha256Hex(msg.content.toString('utf8'))}`;
    const log = this.o.log.child({ message_id: clip(key), request: this.o.kind });
    return this.oneAtATime(key, () => this.act(msg, request, key, log));
  }

  private async act(
    msg: ConsumeMessage,
    request: {
      id: string;
      operatorId?: string | undefined;
      name?: string;
      address?: string;
      email?: string;
    },
    key: string,
    log: FastifyBaseLogger,
  ): Promise<ConsumeOutcome> {
    const channel = this.o.broker.channel;
    const us = this.o.identity;
    const who: Requester = {
      channel: 'amqp',
      requestedBy: null,
      requestId: null,
      messageId: `${this.o.queue.queue}:${key}`,
    };
    const attempts = this.attemptOf(msg);
    const next = this.o.queue.retryQueues[attempts - 1];
    const options = { final: next === undefined, also: this.answer(request.id, key) };
    const action = this.o.kind === 'register' ? 'REGISTER' : 'UNREGISTER';

    let result: ActionResult;
    if (request.operatorId !== undefined && request.operatorId !== us.id) {
      result = await this.o.citizens.refuse(
        action,
        request.id,
        who,
        `Refused: the request is for operator ${clip(request.operatorId)}, this is ${us.id}`,
        options,
      );
      channel.ack(msg);
      return result.fresh ? 'refused' : 'duplicate';
    }
    if (this.o.kind === 'register') {
      const { name, address, email } = request;
      if (!name || !address || !email) throw new Error('a register request without its citizen');
      result = await this.o.citizens.register(
        { citizenId: request.id, name, address, email },
        who,
        options,
      );
    } else {
      result = await this.o.citizens.unregister(request.id, who, options);
    }
    if (!result.fresh) {
      channel.ack(msg);
      log.info('request already handled; acknowledged again');
      return 'duplicate';
    }
    if (result.failure && next)
      return this.retryLater(msg, next, attempts, log, result.failure.reason);
    channel.ack(msg);
    log.info({ outcome: result.action.outcome, attempts }, 'citizen request completed');
    return result.failure ? 'gave_up' : 'completed';
  }

  /** Writes the answer, on the default exchange and on ours, in the action's transaction. */
  private answer(id: string, key: string) {
    return async (tx: Executor, action: CitizenActionRow) => {
      const reply = CITIZEN_QUEUES[this.o.kind].reply;
      const body = answerOf(this.o.kind, id, action, this.o.identity);
      const name = `${reply.routingKey}:${key}`;
      await this.o.outbox.enqueue(tx, reply, body as never, uuidFromName(`${name}:default`), '');
      await this.o.outbox.enqueue(tx, reply, body as never, uuidFromName(`${name}:ours`));
    };
  }
}
