import { Counter, type Registry } from 'prom-client';

export type AuthenticationCounter = Counter<'status' | 'channel'>;

/** document_authentications_total, by status and channel. */
export function authenticationMetrics(registry: Registry): AuthenticationCounter {
  return new Counter({
    name: 'document_authentications_total',
    help: 'Document authentications by status (VERIFIED, REJECTED, ERROR) and channel (http, amqp).',
    labelNames: ['status', 'channel'],
    registers: [registry],
  });
}
