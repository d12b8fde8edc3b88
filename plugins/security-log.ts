import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import type { Settings } from '../src/config/settings.js';
import { type SecurityEvent, SecurityLog } from '../src/security/security-log.js';

declare module 'fastify' {
  interface FastifyInstance {
    securityLog: SecurityLog;
    /** Records a security event of this request: its client address and request id. */
    securityEvent: (
      request: FastifyRequest,
      event: Omit<SecurityEvent, 'source' | 'requestId'>,
    ) => void;
  }
}

/** The tamper-evident security log (src/security/security-log.ts), written in batches. */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    const recorded = new Counter({
      name: 'security_events_total',
      help: 'Security events recorded, by kind (logins, denials, revocations, user changes…).',
      labelNames: ['kind'],
      registers: [app.registry],
    });
    const dropped = new Counter({
      name: 'security_events_dropped_total',
      help: 'Security events dropped because too many waited to be written.',
      registers: [app.registry],
    });
    const log = app.log.child({ component: 'security-log' });
    const securityLog = new SecurityLog({
      db: app.db,
      key: config.SECURITY_LOG_KEY,
      ...tuning.securityLog,
      onRecorded: (kind) => recorded.inc({ kind }),
      onDropped: () => dropped.inc(),
      onWriteFailed: (err) => log.error({ err }, 'security events not written; retrying'),
    });
    app.decorate('securityLog', securityLog);
    app.decorate(
      'securityEvent',
      (request: FastifyRequest, event: Omit<SecurityEvent, 'source' | 'requestId'>) =>
        securityLog.record({ ...event, source: request.ip, requestId: String(request.id) }),
    );
    app.addHook('onClose', () => securityLog.close());
  },
  { name: 'security-log', dependencies: ['db', 'metrics'] },
);
