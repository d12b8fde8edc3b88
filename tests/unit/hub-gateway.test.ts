import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { HubClient, HubError } from '../../src/hub/client.js';
import { HubGateway } from '../../src/hub/gateway.js';
import { hubMetrics } from '../../src/hub/metrics.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { ExpiringStore } from '../../src/stores/store.js';
import { startHub } from '../helpers/hub.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

describe('HubGateway: breaker, bulkhead, single-flight, cache', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  async function setup(
    overrides: { cache?: ExpiringStore | null; maxConcurrent?: number; maxQueued?: number } = {},
  ) {
    const hub: Hub = await startHub();
    const client = new HubClient({
      baseUrl: hub.url,
      timeoutMs: 1000,
      retries: 0,
      retryBaseMs: 1,
      connections: 8,
    });
    const registry = new Registry();
    const errors: unknown[] = [];
    const keyed: string[] = [];
    const cache = overrides.cache === undefined ? new MemoryStore() : overrides.cache;
    const gateway = new HubGateway(client, {
      breaker: {
        errorPercent: 50,
        minCalls: 2,
        windowMs: 10_000,
        resetMs: 200,
        maxConcurrent: overrides.maxConcurrent ?? 10,
        maxQueued: overrides.maxQueued ?? 0,
        maxWaitMs: 1000,
      },
      cache,
      cacheTtlMs: 60_000,
      cacheKey: (id) => {
        keyed.push(id);
        return `k:${id}`;
      },
      metrics: hubMetrics(registry),
      onCacheError: (err) => errors.push(err),
    });
    open.push(hub, { close: () => gateway.close() }, client);
    return { hub, gateway, registry, errors, keyed, cache };
  }

  it('computes the cache key of a citizen (a keyed hash) once per lookup, miss or hit', async () => {
    const { gateway, keyed, cache } = await setup();
    expect(await gateway.checkCitizen('1000003')).toMatchObject({ source: 'hub' });
    await eventually(async () => (await cache?.get('k:1000003')) != null); // stored after it is returned
    expect(await gateway.checkCitizen('1000003')).toMatchObject({ source: 'cache' });
    expect(keyed).toEqual(['1000003', '1000003']);
  });

  it('with no queue, refuses calls beyond the bulkhead at once with overloaded', async () => {
    const { hub, gateway } = await setup({ maxConcurrent: 2, cache: null });
    hub.setFaults({ latencyMs: 200 });
    const results = await Promise.allSettled(
      ['1000002', '1000004', '1000006'].map((id) => gateway.checkCitizen(id)),
    );
    const failures = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failures).toHaveLength(1);
    const reason = failures[0]?.reason as HubError;
    expect(reason).toBeInstanceOf(HubError);
    expect(reason.failure).toBe('overloaded');
  });

  it('asks the hub when the cache fails, and says so', async () => {
    const broken: ExpiringStore = {
      ...new MemoryStore(),
      get: async () => {
        throw new Error('redis down');
      },
      set: async () => {
        throw new Error('redis down');
      },
    } as unknown as ExpiringStore;
    const { gateway, errors, registry } = await setup({ cache: broken });
    expect(await gateway.checkCitizen('1000003')).toMatchObject({
      registered: true,
      source: 'hub',
    });
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(await registry.metrics()).toMatch(/hub_cache_lookups_total\{result="error"\} 1/);
  });

  it('half-opens after the reset time and lets one trial call through', async () => {
    const { hub, gateway } = await setup({ cache: null });
    hub.setFaults({ failureRate: 1 });
    await expect(gateway.checkCitizen('1000002')).rejects.toThrow(HubError);
    await expect(gateway.checkCitizen('1000002')).rejects.toThrow(HubError);
    expect(gateway.breakerState('validateCitizen')).toBe('open');
    expect(gateway.breakerState('authenticateDocument')).toBe('closed');
    await eventually(() => gateway.breakerState('validateCitizen') === 'half_open', 5000);
    hub.resetFaults();
    hub.setFaults({ latencyMs: 100 });
    const [trial, other] = await Promise.allSettled([
      gateway.checkCitizen('1000002'),
      gateway.checkCitizen('1000004'),
    ]);
    expect(trial.status).toBe('fulfilled');
    expect(other.status).toBe('rejected'); // only one trial while half-open
    expect(gateway.breakerState('validateCitizen')).toBe('closed');
  });

  describe('settling ambiguous registrations', () => {
    const citizen = (id: string) => ({
      citizenId: id,
      name: 'Ana',
      address: 'Calle 1',
      email: 'ana@example.org',
      operatorId: 'op-us',
      operatorName: 'Nosotros',
    });
    const settlements = async (registry: Registry) =>
      [
        ...(await registry.metrics()).matchAll(
          /hub_settlements_total\{endpoint="(\w+)",result="(\w+)"\} (\d+)/g,
        ),
      ].map((m) => `${m[1]}:${m[2]}:${m[3]}`);

    it('a clear answer needs no settling: one call', async () => {
      const { hub, gateway } = await setup();
      const result = await gateway.registerCitizen(citizen('5000000002'));
      expect(result).toMatchObject({
        answer: { outcome: 'registered', status: 201 },
        settledBy: null,
        attempts: 1,
      });
      expect(hub.calls.registerCitizen).toBe(1);
      expect(hub.calls.validateCitizen).toBeUndefined();
      expect((await gateway.registerCitizen(citizen('5000000002'))).answer.outcome).toBe(
        'already_registered',
      );
    });

    it('a 500 after the hub registered: validateCitizen says registered, no second registration', async () => {
      const { hub, gateway, registry } = await setup();
      hub.setFaults({ failureRate: 1, failureStatus: 500, strike: 'after' }, 'registerCitizen');
      const result = await gateway.registerCitizen(citizen('5000000004'));
      expect(result).toMatchObject({
        answer: { outcome: 'registered' },
        settledBy: 'validateCitizen',
        ambiguousStatus: 500,
        attempts: 1,
      });
      expect(hub.calls.registerCitizen).toBe(1);
      expect(hub.registration('5000000004')?.operatorId).toBe('op-us');
      expect(await settlements(registry)).toEqual(['registerCitizen:registered:1']);
    });

    it('a 500 before the hub registered: validateCitizen says free, then one more attempt', async () => {
      const { hub, gateway, registry } = await setup();
      hub.setFaults({ failureRate: 1, failureStatus: 500, times: 1 }, 'registerCitizen');
      const result = await gateway.registerCitizen(citizen('5000000006'));
      expect(result).toMatchObject({
        answer: { outcome: 'registered', status: 201 },
        settledBy: 'validateCitizen',
        ambiguousStatus: 500,
        attempts: 2,
      });
      expect(hub.calls.registerCitizen).toBe(2);
      expect(await settlements(registry)).toEqual(['registerCitizen:free:1']);
    });

    it('registered with another operator, after a timeout: already registered', async () => {
      const { hub, gateway } = await setup();
      hub.setFaults({ dropRate: 1, times: 1 }, 'registerCitizen');
      const result = await gateway.registerCitizen(citizen('5000000017')); // odd: someone else's
      expect(result.answer).toMatchObject({ outcome: 'already_registered' });
      expect(result.settledBy).toBe('validateCitizen');
      expect(hub.calls.registerCitizen).toBe(1);
    });

    it('when validateCitizen fails too, nothing is decided and nothing is sent again', async () => {
      const { hub, gateway, registry } = await setup();
      hub.setFaults({ failureRate: 1, failureStatus: 500 });
      await expect(gateway.registerCitizen(citizen('5000000008'))).rejects.toMatchObject({
        failure: 'status',
      });
      expect(hub.calls.registerCitizen).toBe(1);
      expect(await settlements(registry)).toEqual(['registerCitizen:unknown:1']);
    });

    it('an open breaker sent nothing: no settling', async () => {
      const { hub, gateway } = await setup({ cache: null });
      hub.setFaults({ failureRate: 1, failureStatus: 502 }, 'registerCitizen');
      hub.setFaults({ failureRate: 1, failureStatus: 503 }, 'validateCitizen');
      for (let i = 0; i < 2; i++)
        await gateway.registerCitizen(citizen('5000000010')).catch(() => {});
      expect(gateway.breakerState('registerCitizen')).toBe('open');
      const validations = hub.calls.validateCitizen ?? 0;
      await expect(gateway.registerCitizen(citizen('5000000010'))).rejects.toMatchObject({
        failure: 'breaker_open',
      });
      expect(hub.calls.validateCitizen ?? 0).toBe(validations);
    });

    it('unregister: a dropped answer after the hub unregistered is settled as done', async () => {
      const { hub, gateway, registry } = await setup();
      await gateway.registerCitizen(citizen('5000000012'));
      hub.setFaults({ dropRate: 1, strike: 'after' }, 'unregisterCitizen');
      const result = await gateway.unregisterCitizen({
        citizenId: '5000000012',
        operatorId: 'op-us',
        operatorName: 'Nosotros',
      });
      expect(result).toMatchObject({
        answer: { outcome: 'unregistered' },
        settledBy: 'validateCitizen',
        attempts: 1,
      });
      expect(hub.registration('5000000012')).toBeNull();
      expect(await settlements(registry)).toEqual(['unregisterCitizen:free:1']);
    });

    it('forgets the cached answer of a citizen whose registration changed', async () => {
      const { gateway } = await setup();
      expect(await gateway.checkCitizen('5000000014')).toMatchObject({
        registered: false,
        source: 'hub',
      });
      await eventually(async () => (await gateway.checkCitizen('5000000014')).source === 'cache');
      await gateway.registerCitizen(citizen('5000000014'));
      expect(await gateway.checkCitizen('5000000014')).toMatchObject({
        registered: true,
        source: 'hub',
      });
    });
  });

  it('a first attempt that lands late: the second says "already registered", validateCitizen says it is ours', async () => {
    const script = Fastify();
    let registers = 0;
    let validations = 0;
    script.post('/apis/registerCitizen', async (_req, reply) => {
      registers++;
      if (registers === 1) await new Promise((r) => setTimeout(r, 600)); // past the deadline
      return reply.code(registers === 1 ? 201 : 501).send(registers === 1 ? 'ok' : 'ya registrado');
    });
    script.get('/apis/validateCitizen/:id', async (_req, reply) =>
      ++validations === 1
        ? reply.code(204).send()
        : reply.send('El ciudadano se encuentra registrado en el operador  nosotros'),
    );
    const url = await script.listen({ host: '127.0.0.1', port: 0 });
    const client = new HubClient({
      baseUrl: url,
      timeoutMs: 300,
      retries: 0,
      retryBaseMs: 1,
      connections: 2,
    });
    const registry = new Registry();
    const gateway = new HubGateway(client, {
      breaker: {
        errorPercent: 50,
        minCalls: 100,
        windowMs: 10_000,
        resetMs: 1000,
        maxConcurrent: 10,
        maxQueued: 40,
        maxWaitMs: 1000,
      },
      cache: null,
      cacheTtlMs: 0,
      cacheKey: (id) => id,
      metrics: hubMetrics(registry),
    });
    open.push({ close: () => script.close() }, { close: () => gateway.close() }, client);
    const result = await gateway.registerCitizen({
      citizenId: '5000000020',
      name: 'Ana',
      address: 'Calle 1',
      email: 'ana@example.org',
      operatorId: 'op-us',
      operatorName: 'Nosotros',
    });
    expect(result).toMatchObject({
      answer: { outcome: 'registered' },
      settledBy: 'validateCitizen',
      attempts: 2,
    });
    expect([registers, validations]).toEqual([2, 2]);
  });
});
