import { connect } from 'amqplib';
import { z } from 'zod';
import { envSchema, parseEnv } from '../config/env.js';

/**
 * `npm run events:watch [-- <binding key>]`: prints every event on the exchange as it is
 * published (a temporary, exclusive queue bound with `#` or the given key). A development aid:
 * it shows event bodies, which hold citizen ids.
 */
const env = parseEnv(
  envSchema.pick({ AMQP_URL: true, AMQP_EXCHANGE: true }).extend({
    AMQP_URL: z.string().default('amqp://guest:guest@127.0.0.1:5672'),
  }),
  process.env,
);
const pattern = process.argv[2] ?? '#';
const connection = await connect(env.AMQP_URL);
const channel = await connection.createChannel();
await channel.checkExchange(env.AMQP_EXCHANGE).catch(() => {
  console.error(`No exchange "${env.AMQP_EXCHANGE}" yet: start the service with AMQP_URL first.`);
  process.exit(1);
});
const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
await channel.bindQueue(queue, env.AMQP_EXCHANGE, pattern);
console.error(`watching ${env.AMQP_EXCHANGE} (${pattern}); Ctrl-C to stop`);
await channel.consume(
  queue,
  (msg) => {
    if (!msg) return;
    const { routingKey } = msg.fields;
    process.stdout.write(`${routingKey} ${msg.properties.messageId} ${msg.content.toString()}\n`);
  },
  { noAck: true },
);
const stop = async () => {
  await connection.close().catch(() => {});
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
