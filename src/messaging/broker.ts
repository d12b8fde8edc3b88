import type { Duplex } from 'node:stream';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { FastifyBaseLogger } from 'fastify';
import { oncePer, within } from '../shared/timing.js';

/**
 * One RabbitMQ connection that reconnects by itself (amqp-connection-manager) and one confirm
 * channel on it. `setup` runs at every (re)connect: it declares what the caller relies on.
 */
export interface Broker {
  connection: AmqpConnectionManager;
  channel: ChannelWrapper;
  isConnected(): boolean;
  close(): Promise<void>;
}

/** How long a clean close may take before the socket is dropped. */
const CLOSE_TIMEOUT_MS = 3000;

export function connectBroker(
  url: string,
  options: {
    name: string;
    log: FastifyBaseLogger;
    setup: (channel: ConfirmChannel) => Promise<void>;
    publishTimeoutMs: number;
  },
): Broker {
  const connection = amqp.connect([url], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: options.name } },
  });
  const reportFailure = oncePer(10_000);
  connection.on('connect', () => options.log.info('connected to RabbitMQ'));
  connection.on('disconnect', ({ err }) =>
    options.log.warn({ err: { message: err?.message } }, 'disconnected from RabbitMQ'),
  );
  connection.on('connectFailed', ({ err }) => {
    if (!reportFailure()) return;
    options.log.error({ err: { message: err?.message } }, 'cannot connect to RabbitMQ; retrying');
  });
  const channel = connection.createChannel({
    name: options.name,
    confirm: true,
    json: false,
    publishTimeout: options.publishTimeoutMs,
    setup: options.setup,
  });
  channel.on('error', (err: Error) =>
    options.log.error({ err: { message: err.message } }, 'RabbitMQ channel setup failed'),
  );
  return {
    connection,
    channel,
    isConnected: () => connection.isConnected(),
    close: async () => {
      const closed = await within(
        CLOSE_TIMEOUT_MS,
        (async () => {
          await channel.close().catch(() => {});
          await connection.close().catch(() => {});
          return true;
        })(),
      );
      if (closed) return;
      // A connection that dies during the close handshake never gets its CloseOk, and amqplib
      // then waits forever: drop the socket rather than hang the shutdown.
      options.log.warn('RabbitMQ did not confirm the close in time; dropping the connection');
      const current = connection.connection as { connection?: { stream?: Duplex } } | undefined;
      current?.connection?.stream?.destroy();
    },
  };
}
