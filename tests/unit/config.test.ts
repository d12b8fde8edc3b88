import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const SECRET = 's'.repeat(32);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('runs on embedded defaults with no environment at all', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      NODE_ENV: 'development',
      PORT: 8000,
      HOST: '0.0.0.0',
      embeddedDatabase: true,
      MIGRATE_ON_START: true,
      jwtSecretGenerated: true,
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_SECONDS: 604_800,
      LOGIN_MAX_FAILURES: 5,
      LOGIN_FAILURE_WINDOW_SECONDS: 900,
      CORS_ORIGINS: [],
      TRUST_PROXY: false,
    });
    expect(Buffer.byteLength(c.JWT_SECRET)).toBeGreaterThanOrEqual(32);
    expect(loadConfig({}).JWT_SECRET).not.toBe(c.JWT_SECRET);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({
      embeddedDatabase: true,
      PORT: 8000,
    });
  });

  it('uses the real services when their URLs are set, migrating only on request', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x', REDIS_URL: 'redis://r:6379' });
    expect(c).toMatchObject({ embeddedDatabase: false, MIGRATE_ON_START: false });
    expect(
      loadConfig({ DATABASE_URL: 'postgres://u@db/x', MIGRATE_ON_START: 'true' }).MIGRATE_ON_START,
    ).toBe(true);
  });

  it('refuses embedded defaults and a missing secret in production, naming every variable', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'JWT_SECRET',
      'DATABASE_URL',
      'REDIS_URL',
      'GOVCARPETA_URL',
      'AMQP_URL',
    ]);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: SECRET,
        DATABASE_URL: 'postgres://u@db/x',
        REDIS_URL: 'redis://r',
        GOVCARPETA_URL: 'https://hub.example',
        AMQP_URL: 'amqp://mq',
      }).jwtSecretGenerated,
    ).toBe(false);
  });

  it('reads the worker retry delays as milliseconds and refuses garbage', () => {
    expect(loadConfig({ WORKER_RETRY_DELAYS_MS: '10, 20' }).WORKER_RETRY_DELAYS_MS).toEqual([
      10, 20,
    ]);
    expect(loadConfig({}).WORKER_RETRY_DELAYS_MS).toEqual([1000, 5000, 30_000, 120_000]);
    expect(problemsOf({ WORKER_RETRY_DELAYS_MS: '10,soon' })[0]).toMatch(
      /^WORKER_RETRY_DELAYS_MS: /,
    );
  });

  it('refuses a JWT secret shorter than 32 bytes in any environment', () => {
    expect(problemsOf({ JWT_SECRET: 'short' })[0]).toMatch(
      /^JWT_SECRET: must be at least 32 bytes/,
    );
  });

  it('names every malformed variable in one error', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'http://not-postgres',
      LOG_LEVEL: 'loud',
      MIGRATE_ON_START: 'maybe',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'LOG_LEVEL',
      'MIGRATE_ON_START',
      'PORT',
    ]);
    expect(new ConfigError(problems).message).toMatch(/^Invalid configuration:\n {2}- /);
  });

  it('parses lists and proxy trust', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.org, https://b.org,' }).CORS_ORIGINS).toEqual([
      'https://a.org',
      'https://b.org',
    ]);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    expect(problemsOf({ TRUST_PROXY: 'everyone' })[0]).toMatch(/^TRUST_PROXY/);
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ HOME: '/root', SOMETHING_ELSE: 'x' })).not.toThrow();
  });
});
