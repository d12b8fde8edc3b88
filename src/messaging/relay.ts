import type { ConfirmChannel, Message } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/client.js';
import { contextOf, currentTraceCarrier, inSpan, SpanKind } from '../telemetry/tracing.js';
import type { Broker } from './broker.js';
import type { EventMetrics } from './metrics.js';
import type { Outbox } from './outbox.js';
import { claimPending, markFailed, markSent } from './outbox.repository.js';
import type { OutboxRow } from './outbox.table.js';

export const CE_SOURCE = '/citizen-affiliation';

/** Least time between two batches of one relay. */
const BATCH_WINDOW_MS = 20;

export interface RelayOptions {
  db: Db;
  /** This process's outbox: its commits wake the relay. */
  outbox: Outbox;
  broker: Broker;
  exchange: string;
  batchSize: number;
  pollMs: number;
  publishTimeoutMs: number;
  log: FastifyBaseLogger;
  metrics: EventMetrics;
}

/**
 * The AMQP properties and CloudEvents (binary mode) headers of one outbox row, with the W3C trace
 * context (`traceparent`, `tracestate`) of `trace`: the publish span's, else the row's own.
 */
export function messageOptions(row: OutboxRow, publishTimeoutMs: number, trace = row.traceContext) {
  const time = row.createdAt.toISOString();
  return {
    persistent: true,
    mandatory: true,
    contentType: 'application/json',
    messageId: row.id,
    type: row.routingKey,
    timestamp: Math.floor(row.createdAt.getTime() / 1000),
    appId: 'citizen-affiliation',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': row.id,
      'ce-type': row.routingKey,
      'ce-source': CE_SOURCE,
      'ce-time': time,
      ...trace,
    },
    timeout: publishTimeoutMs,
  };
}

/**
 * Publishes committed outbox rows to RabbitMQ. Safe with many replicas: each batch is claimed with
 * FOR UPDATE SKIP LOCKED and marked sent, in the same transaction, only after the broker confirmed
 * each message. Wakes when this process commits events, polls (`pollMs`) for anything else (rows
 * of a replica that died before relaying them), and waits for the broker while it is away.
 * Delivery is at least once; the event id (messageId, ce-id) is stable.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private wakeOn: 'commit' | 'reconnect' = 'commit';
  private committedSinceDrain = false;
  private readonly returned = new Set<string>();

  constructor(private readonly o: RelayOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.o.outbox.onCommitted(() => this.onCommit());
    this.o.broker.connection.on('connect', this.onConnect);
    // addSetup keeps the setup for every reconnect; its promise only reports the run on the
    // current channel, which fails when the channel closes meanwhile (a SIGTERM right after
    // start): that is no error, and unhandled it made the shutdown exit 1.
    this.o.broker.channel.addSetup(this.listenForReturns).catch(() => {});
    this.loop = this.run();
  }

  /** Stops claiming; resolves once the batch in flight is confirmed (or has failed). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    this.unsubscribe?.();
    // start() again must not add a second listener of each kind (a return counted twice).
    this.o.broker.connection.off('connect', this.onConnect);
    // Not awaited: with the connection dead it would wait for the heartbeat to notice.
    this.o.broker.channel
      .removeSetup(this.listenForReturns, async (channel: ConfirmChannel) => {
        channel.off('return', this.onReturn);
      })
      .catch(() => {});
  }

  private readonly onConnect = () => this.wake?.();

  private readonly listenForReturns = async (channel: ConfirmChannel) => {
    channel.on('return', this.onReturn);
  };

  private readonly onReturn = (msg: Message) => {
    const id = String(msg.properties.messageId ?? '');
    this.returned.add(id);
    this.o.metrics.returned.inc({ routing_key: msg.fields.routingKey });
    this.o.log.error(
      { event_id: id, routing_key: msg.fields.routingKey },
      'event returned as unroutable',
    );
  };

  /** Publishes what is pending now; returns how many events were confirmed. */
  async drainOnce(): Promise<number> {
    const outcome = await this.o.db.transaction(async (tx) => {
      const rows = await claimPending(tx, this.o.batchSize);
      if (rows.length === 0) return { sent: 0, failed: 0, error: '' };
      const results = await Promise.allSettled(rows.map((row) => this.publish(row)));
      const sent = rows.filter((_, i) => results[i]?.status === 'fulfilled').map((r) => r.id);
      const failed = rows.filter((_, i) => results[i]?.status === 'rejected').map((r) => r.id);
      await markSent(tx, sent, new Date());
      let error = '';
      if (failed.length > 0) {
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        error = String((rejected.reason as Error)?.message ?? rejected.reason).slice(0, 500);
        await markFailed(tx, failed, error);
      }
      return { sent: sent.length, failed: failed.length, error };
    });
    if (outcome.failed > 0) {
      this.o.metrics.publishFailures.inc(outcome.failed);
      throw new Error(`${outcome.failed} event(s) not confirmed: ${outcome.error}`);
    }
    return outcome.sent;
  }

  /** Publishes one row, in a span that continues the trace of the request that wrote it. */
  private publish(row: OutboxRow): Promise<void> {
    const exchange = row.exchange ?? this.o.exchange;
    return inSpan(
      `publish ${exchange || '(default)'}`,
      {
        kind: SpanKind.PRODUCER,
        parent: contextOf(row.traceContext),
        requireParent: true,
        attributes: {
          'messaging.system': 'rabbitmq',
          'messaging.operation.type': 'send',
          'messaging.destination.name': exchange,
          'messaging.rabbitmq.destination.routing_key': row.routingKey,
          'messaging.message.id': row.id,
        },
      },
      () => this.send(row, exchange),
    );
  }

  private async send(row: OutboxRow, exchange: string): Promise<void> {
    const body = Buffer.from(JSON.stringify(row.payload));
    await this.o.broker.channel.publish(
      exchange,
      row.routingKey,
      body,
      messageOptions(row, this.o.publishTimeoutMs, currentTraceCarrier() ?? row.traceContext),
    );
    // The broker sends basic.return before the ack of an unroutable mandatory message.
    if (this.returned.delete(row.id)) {
      throw new Error(`event ${row.routingKey} was unroutable (returned by the broker)`);
    }
    this.o.metrics.published.inc({ routing_key: row.routingKey });
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (this.running) {
      if (!this.o.broker.isConnected()) {
        await this.sleep(this.o.pollMs, 'reconnect');
        continue;
      }
      this.committedSinceDrain = false;
      try {
        const sent = await this.drainOnce();
        backoff = 0;
        if (sent >= this.o.batchSize) continue; // more may be waiting
      } catch (err) {
        backoff = Math.min(Math.max(backoff * 2, 200), 30_000);
        this.o.log.warn(
          { err: { message: (err as Error).message } },
          'outbox relay failed; backing off',
        );
        // New commits do not cut a backoff short: a broker refusing messages gets a rest.
        await this.sleep(backoff, 'reconnect');
        continue;
      }
      // Under steady traffic every request commits an event: gather a few milliseconds of them
      // into the next batch rather than running one relay transaction per event.
      await new Promise((r) => setTimeout(r, BATCH_WINDOW_MS));
      if (!this.committedSinceDrain) await this.sleep(this.o.pollMs, 'commit');
    }
  }

  /** This process committed events: wake the relay if it waits for them. */
  private onCommit(): void {
    this.committedSinceDrain = true;
    if (this.wakeOn === 'commit') this.wake?.();
  }

  /**
   * Waits `ms`, or less when stop() or a broker reconnect wakes the relay, or (`commit`) when
   * this process commits events.
   */
  private sleep(ms: number, wakeOn: 'commit' | 'reconnect'): Promise<void> {
    // stop() wakes a sleep in progress; one begun after it (stop() came mid-batch) is no sleep.
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeOn = wakeOn;
      this.wake = done;
    });
  }
}
