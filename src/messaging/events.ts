import type { z } from 'zod';

/**
 * An event this service publishes or consumes: its routing key (also the AMQP `type` and
 * CloudEvents `ce-type`) and the zod schema of its body. Each feature defines its own (e.g.
 * src/affiliation/events.ts); docs/asyncapi.yaml describes the same shapes and a test keeps the
 * two equal.
 */
export interface EventType<K extends string = string, S extends z.ZodType = z.ZodType> {
  routingKey: K;
  schema: S;
}

export function defineEvent<const K extends string, S extends z.ZodType>(
  routingKey: K,
  schema: S,
): EventType<K, S> {
  return { routingKey, schema };
}

/** The body a publisher writes for an event. */
export type EventBody<E extends EventType> = z.input<E['schema']>;
