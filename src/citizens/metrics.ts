import { Counter, type Registry } from 'prom-client';
import type { ActionCounter } from './citizens.service.js';

/** citizen_actions_total, by action, outcome and channel. */
export function actionMetrics(registry: Registry): ActionCounter {
  return new Counter({
    name: 'citizen_actions_total',
    help: 'Citizen registrations and unregistrations asked of the hub, by action (REGISTER, UNREGISTER), outcome (REGISTERED, ALREADY_REGISTERED, UNREGISTERED, REFUSED, ERROR) and channel (http, amqp, transfer).',
    labelNames: ['action', 'outcome', 'channel'],
    registers: [registry],
  });
}
