import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import {
  ConfigError,
  envSchema,
  isPlaceholder,
  isPolicy,
  loadConfig,
} from '../../src/config/env.js';
import { TUNING, tune } from '../../src/config/tuning.js';
import { projectRoot } from '../../tools/shared/paths.js';

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
      jwtSecretGenerated: true,
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_SECONDS: 604_800,
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

  it('uses the real services when their URLs are set', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/x', REDIS_URL: 'redis://r:6379' });
    expect(c).toMatchObject({ embeddedDatabase: false, REDIS_URL: 'redis://r:6379' });
  });

  it('refuses embedded defaults and a missing secret in production, naming every variable', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'JWT_SECRET',
      'DATABASE_URL',
      'REDIS_URL',
      'SECURITY_LOG_KEY',
      'GOVCARPETA_URL',
      'AMQP_URL',
    ]);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: SECRET,
        SECURITY_LOG_KEY: `${SECRET}-log`,
        DATABASE_URL: 'postgres://u@db/x',
        REDIS_URL: 'redis://r',
        GOVCARPETA_URL: 'https://hub.example',
        AMQP_URL: 'amqp://mq',
      }).jwtSecretGenerated,
    ).toBe(false);
  });

  it.each([
    'REPLACE_WITH_AT_LEAST_32_RANDOM_BYTES', // k8s/base/secret.template.yaml's
    'changeme-changeme-changeme-changeme!!',
    'please-replace-me-with-a-real-secret-value',
    'your-secret-here-your-secret-here-1234',
  ])('refuses the placeholder JWT secret %s in production', (secret) => {
    const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET: secret });
    expect(problems.some((p) => /^JWT_SECRET: is a placeholder/.test(p))).toBe(true);
  });

  it('the secret template holds a placeholder production refuses', () => {
    const template = parse(
      readFileSync(join(projectRoot, 'k8s/base/secret.template.yaml'), 'utf8'),
    );
    expect(isPlaceholder(template.stringData.JWT_SECRET)).toBe(true);
    expect(isPlaceholder(randomBytes(48).toString('base64url'))).toBe(false);
  });

  it('refuses a JWT secret shorter than 32 bytes in any environment', () => {
    expect(problemsOf({ JWT_SECRET: 'short' })[0]).toMatch(
      /^JWT_SECRET: must be at least 32 bytes/,
    );
  });

  it('reads the previous secrets (each at least 32 bytes) and refuses a half-set platform issuer', () => {
    expect(
      loadConfig({ JWT_PREVIOUS_SECRETS: ` ${SECRET} , ${SECRET}2 ` }).jwtPreviousSecrets,
    ).toEqual([SECRET, `${SECRET}2`]);
    expect(problemsOf({ JWT_PREVIOUS_SECRETS: `${SECRET},short` })[0]).toMatch(
      /^JWT_PREVIOUS_SECRETS: each must be at least 32 bytes/,
    );
    const platform = {
      AUTH_ISSUER: 'https://auth.example.org/realms/p',
      AUTH_JWKS_URL: 'https://auth.example.org/realms/p/certs',
      AUTH_AUDIENCE: 'citizen-affiliation',
      AUTH_ROLE_MAP: 'realm_access.roles:affiliation-operator=operator',
    };
    expect(() => loadConfig(platform)).not.toThrow();
    expect(problemsOf({ AUTH_ISSUER: platform.AUTH_ISSUER })[0]).toMatch(/set all four, or none/);
    expect(problemsOf({ ...platform, AUTH_ROLE_MAP: 'roles:x=superuser' })[0]).toMatch(
      /^AUTH_ROLE_MAP: `x=superuser`: must be theirs=ours/,
    );
    expect(problemsOf({ ...platform, AUTH_ROLE_MAP: 'no-claim-path' })[0]).toMatch(
      /^AUTH_ROLE_MAP:/,
    );
    expect(
      problemsOf({ ...platform, NODE_ENV: 'production', AUTH_JWKS_URL: 'http://auth/certs' }),
    ).toContain('AUTH_JWKS_URL: must be https in production');
  });

  it('names every malformed variable in one error', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'http://not-postgres',
      LOG_LEVEL: 'loud',
      RATE_LIMIT_MAX: 'many',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
      'RATE_LIMIT_MAX',
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

  it('has only settings an operator sets: each in a deployment file, or marked as a policy', () => {
    const deployments = [
      'docker-compose.yml',
      'k8s/base/config.env',
      'k8s/base/secret.template.yaml',
      'k8s/base/api-deployment.yaml',
      'k8s/base/worker-deployment.yaml',
      'k8s/overlays/production/kustomization.yaml',
    ]
      .map((file) => readFileSync(join(projectRoot, file), 'utf8'))
      .join('\n');
    const names = Object.keys(envSchema.shape);
    // 30 after issue 15; issue 17 named three more (the transfer timeout and wait,
    // PEER_ALLOWED_HOSTS); issue 19 six (JWT_PREVIOUS_SECRETS, the platform issuer's four,
    // SECURITY_LOG_KEY).
    expect(names.length).toBeLessThanOrEqual(39);
    const unset = names.filter(
      (name) =>
        !isPolicy(envSchema.shape[name as keyof typeof envSchema.shape] as z.ZodType) &&
        !new RegExp(`\\b${name}\\b`).test(deployments),
    );
    expect(unset, 'set it in k8s/ or docker-compose.yml, or mark it policy()').toEqual([]);
  });
});

describe('tuning', () => {
  it('is the named constants unless a test overrides some, deeply, replacing lists', () => {
    expect(tune()).toEqual(TUNING);
    const tuned = tune({ hub: { breaker: { minCalls: 3 } }, worker: { retryDelaysMs: [5] } });
    expect(tuned.hub.breaker).toEqual({ ...TUNING.hub.breaker, minCalls: 3 });
    expect(tuned.hub.retries).toBe(TUNING.hub.retries);
    expect(tuned.worker.retryDelaysMs).toEqual([5]);
    expect(TUNING.hub.breaker.minCalls).toBe(10); // the constants themselves are untouched
  });
});
