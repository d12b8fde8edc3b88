import type { ConsumeMessage } from 'amqplib';
import { type ConsumerBase, RequestConsumer } from '../messaging/consume.js';
import type { ConsumeOutcome } from '../messaging/metrics.js';
import { type WorkQueue, workQueue } from '../messaging/topology.js';
import { transferDocumentsStored } from './events.js';
import type { TransferService } from './transfers.service.js';

/** `<exchange>.transfer-documents-stored`: the documents service's answers, from our exchange. */
export function documentsStoredQueue(exchange: string): WorkQueue {
  return workQueue(
    `${exchange}.transfer-documents-stored`,
    [transferDocumentsStored.routingKey],
    [],
  );
}

export interface DocumentsStoredOptions extends Omit<ConsumerBase, 'queue'> {
  queue: WorkQueue;
  transfers: TransferService;
}

/**
 * Consumes `transfer.documents.stored` `{transfer_id, success, message}`: the answer is applied
 * once to the incoming transfer waiting for it (a repeat, or an answer for a transfer that no
 * longer waits, changes nothing and is acked). A malformed message goes to the dead-letter queue.
 */
export class DocumentsStoredConsumer extends RequestConsumer {
  constructor(private readonly o: DocumentsStoredOptions) {
    super({ ...o, queue: o.queue.queue });
  }

  protected async process(msg: ConsumeMessage): Promise<ConsumeOutcome> {
    const answer = this.parse(msg, transferDocumentsStored.schema);
    if (!answer) {
      this.o.broker.channel.nack(msg, false, false); // its dead-letter exchange takes it
      return 'malformed';
    }
    const applied = await this.o.transfers.documentsStored(answer.transfer_id, {
      success: answer.success,
      message: answer.message,
    });
    this.o.broker.channel.ack(msg);
    return applied ? 'completed' : 'duplicate';
  }
}
