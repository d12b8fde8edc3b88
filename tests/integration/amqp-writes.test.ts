import type { Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Broker, connectBroker } from '../../src/messaging/broker.js';
import { amqpUrl, testExchange, withBroker } from '../helpers/amqp.js';
import { eventually } from '../helpers/wait.js';

/**
 * patches/amqplib+2.3.1.patch: amqplib's Mux wrote every frame with its own socket write (one
 * syscall each); corked, the frames queued in one turn leave together. The relay publishes a
 * batch of events in one turn, so a batch must cost a few writes, not one per event.
 */
withBroker('RabbitMQ publishing: socket writes', () => {
  let broker: Broker;
  const queue = `${testExchange()}.writes`;

  beforeAll(async () => {
    broker = connectBroker(amqpUrl ?? '', {
      name: 'amqp-writes-test',
      log: pino({ level: 'silent' }),
      setup: async (channel) => {
        await channel.assertQueue(queue, { durable: false, exclusive: true });
      },
      publishTimeoutMs: 5000,
    });
    await broker.channel.waitForConnect();
  });

  afterAll(async () => {
    await broker?.close();
  });

  const socketOf = (b: Broker): Socket => {
    const model = b.connection.connection as unknown as { connection: { stream: Socket } };
    return model.connection.stream;
  };

  it('sends a batch of 100 confirmed publishes in a few socket writes, every message arriving', async () => {
    const socket = socketOf(broker);
    let writes = 0;
    const count = <F extends (...args: never[]) => unknown>(original: F) =>
      ((...args: Parameters<F>) => {
        writes++;
        return original.apply(socket, args);
      }) as F;
    const { _write, _writev } = socket as unknown as {
      _write: (...args: never[]) => unknown;
      _writev: (...args: never[]) => unknown;
    };
    Object.assign(socket, { _write: count(_write), _writev: count(_writev) });
    try {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          broker.channel.publish('', queue, Buffer.from(JSON.stringify({ i })), {
            persistent: false,
          }),
        ),
      );
    } finally {
      Object.assign(socket, { _write, _writev });
    }
    // Without the patch: one write per message (100 or more).
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(5);
    await eventually(
      async () => (await broker.channel.checkQueue(queue)).messageCount === 100,
      5000,
    );
  });
});
