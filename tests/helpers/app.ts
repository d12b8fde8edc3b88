import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, inject } from 'vitest';
import { type App, buildApp } from '../../src/app/api.js';
import { loggerOptions } from '../../src/app/logger.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { TokenPair } from '../../src/auth/sessions.service.js';
import { insertUser } from '../../src/auth/users.repository.js';
import { type Config, envSchema, loadConfig } from '../../src/config/env.js';
import type { Role } from '../../src/shared/enums.js';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

const databaseUrl = inject('databaseUrl');
const redisUrl = inject('redisUrl');
const runId = inject('runId');

/** describe() for tests that need the real Postgres and Redis (global-setup decides). */
export const withServices = describe.skipIf(!databaseUrl || !redisUrl);

/**
 * The config of a test app: this run's database and Redis, unless `env` says otherwise. A name
 * the service does not read is refused: a test would otherwise set nothing and pass for it.
 */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  const unknown = Object.keys(env).filter((name) => !(name in envSchema.shape));
  if (unknown.length > 0) {
    throw new Error(`not settings (see src/config/tuning.ts for overrides): ${unknown.join(', ')}`);
  }
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl ?? undefined,
    REDIS_URL: redisUrl ?? undefined,
    REDIS_KEY_PREFIX: `ca:test:${runId}:`,
    JWT_SECRET: TEST_SECRET,
    ...env,
  });
}

export interface LogCapture {
  lines: Record<string, unknown>[];
  text: () => string;
}

/** A logger that writes JSON lines into memory, with the service's own redaction settings. */
export function captureLogs(): { logger: pino.Logger; capture: LogCapture } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ ...loggerOptions({ LOG_LEVEL: 'trace' }) }, stream);
  return {
    logger,
    capture: {
      get lines() {
        return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
      },
      text: () => raw.join('\n'),
    },
  };
}

/** The app as the server builds it, on this run's database and Redis prefix. */
export async function buildTestApp(
  env: Record<string, string | undefined> = {},
  options: Parameters<typeof buildApp>[1] = {},
): Promise<App> {
  return buildApp(testConfig(env), options);
}

export interface TestUser {
  id: string;
  username: string;
  password: string;
}

export async function createUser(app: App, roles: Role[]): Promise<TestUser> {
  const username = `u-${randomUUID().slice(0, 12)}`;
  const password = `pw-${randomUUID()}`;
  const user = await insertUser(app.db, {
    username,
    passwordHash: await hashPassword(password),
    roles,
  });
  if (!user) throw new Error('test user not created');
  return { id: user.id, username, password };
}

export async function login(app: App, user: Pick<TestUser, 'username' | 'password'>) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username: user.username, password: user.password },
  });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json<TokenPair>();
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
