import { Counter, type Registry } from 'prom-client';

export interface AuthMetrics {
  loginFailures: Counter;
  tokensRevoked: Counter<'reason'>;
}

/** auth_login_failures_total and auth_tokens_revoked_total. */
export function authMetrics(registry: Registry): AuthMetrics {
  return {
    loginFailures: new Counter({
      name: 'auth_login_failures_total',
      help: 'Failed login attempts (wrong username or password, disabled user).',
      registers: [registry],
    }),
    tokensRevoked: new Counter({
      name: 'auth_tokens_revoked_total',
      help: 'Token revocations, by reason (logout, refresh_reuse, user_disabled).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
