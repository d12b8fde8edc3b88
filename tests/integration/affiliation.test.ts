import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { affiliationChecks } from '../../src/affiliation/checks.table.js';
import type { App } from '../../src/app/api.js';
import { outbox } from '../../src/messaging/outbox.table.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { freePort } from '../helpers/process.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

async function auditRows(app: App, citizen: string) {
  return app.db.select().from(affiliationChecks).where(eq(affiliationChecks.citizenId, citizen));
}

async function eventsFor(app: App, checkId: string) {
  return app.db
    .select()
    .from(outbox)
    .where(
      and(
        eq(outbox.routingKey, 'affiliation.checked'),
        sql`${outbox.payload}->>'check_id' = ${checkId}`,
      ),
    );
}

withServices('POST /affiliation/check against the hub simulator', () => {
  let hub: Hub;
  let app: App;
  let token: string;
  const check = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/affiliation/check',
      headers: { ...bearer(token), ...headers },
      payload: body,
    });

  beforeAll(async () => {
    hub = await startHub();
    app = await buildTestApp(
      { GOVCARPETA_URL: hub.url, HUB_TIMEOUT_MS: '300' },
      { tuning: { hub: { retries: 1, retryBaseMs: 10 } } },
    );
    token = (await login(app, await createUser(app, ['operator']))).access_token;
  });
  afterAll(async () => {
    await app?.close();
    await hub?.close();
  });
  beforeEach(() => hub.resetFaults());

  it('answers ELIGIBLE when the hub says 204, audits it and writes its event', async () => {
    const id = citizenId('eligible');
    const res = await check({ citizen_id: `  ${id} `, affiliation_type: 'SUBSIDIADO' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      citizen_id: id,
      document_type: 'CC',
      affiliation_type: 'SUBSIDIADO',
      eligible: true,
      status: 'ELIGIBLE',
      source: 'hub',
    });
    const [row] = await auditRows(app, id);
    expect(row).toMatchObject({ id: body.check_id, status: 'ELIGIBLE', eligible: true });
    expect(row?.checkedAt.toISOString()).toBe(body.checked_at);
    const events = await eventsFor(app, body.check_id);
    expect(events).toHaveLength(1);
    expect(events[0]?.sentAt).toBeNull();
    expect(events[0]?.payload).toEqual({
      event_type: 'affiliation.checked',
      check_id: body.check_id,
      citizen_id: id,
      eligible: true,
      status: 'ELIGIBLE',
      timestamp: body.checked_at,
    });
  });

  it('answers ALREADY_AFFILIATED with the hub sentence, JSON-quoted or plain', async () => {
    for (const digits of [10, 9]) {
      const id = citizenId('affiliated', digits);
      const res = await check({ citizen_id: id, document_type: 'CE' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        eligible: false,
        status: 'ALREADY_AFFILIATED',
        document_type: 'CE',
        affiliation_type: null,
        reason: `El ciudadano con id: ${id} se encuentra registrado en el operador Operador Ciudadano`,
      });
      expect(await eventsFor(app, res.json().check_id)).toHaveLength(1);
    }
  });

  it('reuses a recent answer (source cache) without asking the hub again', async () => {
    const id = citizenId('eligible');
    const before = hub.calls.validateCitizen ?? 0;
    expect((await check({ citizen_id: id })).json().source).toBe('hub');
    const again = await check({ citizen_id: id });
    expect(again.json()).toMatchObject({ source: 'cache', status: 'ELIGIBLE' });
    expect(hub.calls.validateCitizen).toBe(before + 1);
    expect(await auditRows(app, id)).toHaveLength(2);
  });

  const outages: [string, () => void, RegExp][] = [
    ['hub 500', () => hub.setFaults({ failureRate: 1, failureStatus: 500 }), /answered 500/],
    ['hub timeout', () => hub.setFaults({ latencyMs: 1000 }), /did not answer in time/],
    ['hub drops connections', () => hub.setFaults({ dropRate: 1 }), /could not be reached/],
  ];
  for (const [name, fault, reason] of outages) {
    it(`${name}: 503 UPSTREAM_UNAVAILABLE with Retry-After, an ERROR audit row, no event`, async () => {
      fault();
      const id = citizenId('eligible');
      const started = Date.now();
      const res = await check({ citizen_id: id });
      expect(Date.now() - started).toBeLessThan(1500);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503 });
      expect(res.json().detail).toMatch(reason);
      const rows = await auditRows(app, id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'ERROR', eligible: null });
      expect(rows[0]?.reason).toMatch(reason);
      const events = await app.db
        .select()
        .from(outbox)
        .where(sql`${outbox.payload}->>'citizen_id' = ${id}`);
      expect(events).toEqual([]);
    });
  }

  it('opens the breaker after repeated failures, fails fast without calling the hub, then recovers', async () => {
    const guarded = await buildTestApp(
      { GOVCARPETA_URL: hub.url },
      { tuning: { hub: { retries: 0, breaker: { minCalls: 3, resetMs: 400 } } } },
    );
    try {
      const t = (await login(guarded, await createUser(guarded, ['service']))).access_token;
      const ask = () =>
        guarded.inject({
          method: 'POST',
          url: '/api/v1/affiliation/check',
          headers: bearer(t),
          payload: { citizen_id: citizenId('eligible') },
        });
      hub.setFaults({ failureRate: 1 });
      for (let i = 0; i < 3; i++) expect((await ask()).statusCode).toBe(503);
      const calls = hub.calls.validateCitizen;
      const open = await ask();
      expect(open.statusCode).toBe(503);
      expect(open.json().detail).toMatch(/circuit open/);
      expect(Number(open.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(hub.calls.validateCitizen).toBe(calls); // the hub was not asked
      let metrics = (await guarded.inject('/metrics')).body;
      expect(metrics).toMatch(/hub_breaker_state\{endpoint="validateCitizen"\} 2/);

      hub.resetFaults();
      await eventually(async () =>
        /hub_breaker_state\{endpoint="validateCitizen"\} 1/.test(
          (await guarded.inject('/metrics')).body,
        ),
      );
      expect((await ask()).statusCode).toBe(200); // the half-open trial closes it
      expect((await ask()).statusCode).toBe(200);
      metrics = (await guarded.inject('/metrics')).body;
      expect(metrics).toMatch(/hub_breaker_state\{endpoint="validateCitizen"\} 0/);
      expect(metrics).toMatch(
        /hub_calls_total\{endpoint="validateCitizen",outcome="breaker_open"\} 1/,
      );
      expect(metrics).toMatch(/hub_calls_total\{endpoint="validateCitizen",outcome="status"\} 3/);
      expect(metrics).toMatch(/affiliation_checks_total\{status="ERROR",source="hub"\} 4/);
    } finally {
      await guarded.close();
    }
  });

  it('refused connection to the hub: 503, audited', async () => {
    const refused = await buildTestApp({
      GOVCARPETA_URL: `http://127.0.0.1:${await freePort()}`,
      HUB_TIMEOUT_MS: '500',
    });
    try {
      const t = (await login(refused, await createUser(refused, ['service']))).access_token;
      const id = citizenId('eligible');
      const res = await refused.inject({
        method: 'POST',
        url: '/api/v1/affiliation/check',
        headers: bearer(t),
        payload: { citizen_id: id },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect((await auditRows(refused, id))[0]).toMatchObject({ status: 'ERROR' });
    } finally {
      await refused.close();
    }
  });

  it('100 concurrent checks of one citizen make one hub call', async () => {
    const single = await buildTestApp({ GOVCARPETA_URL: hub.url, CHECK_CACHE_TTL_SECONDS: '0' });
    try {
      const t = (await login(single, await createUser(single, ['service']))).access_token;
      hub.setFaults({ latencyMs: 200 });
      const id = citizenId('affiliated');
      const before = hub.calls.validateCitizen ?? 0;
      const answers = await Promise.all(
        Array.from({ length: 100 }, () =>
          single.inject({
            method: 'POST',
            url: '/api/v1/affiliation/check',
            headers: bearer(t),
            payload: { citizen_id: id },
          }),
        ),
      );
      expect(answers.map((a) => a.statusCode)).toEqual(Array(100).fill(200));
      expect(new Set(answers.map((a) => a.json().check_id)).size).toBe(100);
      expect(hub.calls.validateCitizen).toBe(before + 1);
      expect(await auditRows(single, id)).toHaveLength(100);
    } finally {
      await single.close();
    }
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for the same key and body: no new row, no new event', async () => {
      const id = citizenId('eligible');
      const key = `key-${id}`;
      const first = await check({ citizen_id: id }, { 'idempotency-key': key });
      expect(first.statusCode).toBe(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const again = await check(
        { citizen_id: ` ${id}`, document_type: 'CC' },
        { 'idempotency-key': key },
      );
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      expect(await auditRows(app, id)).toHaveLength(1);
      expect(await eventsFor(app, first.json().check_id)).toHaveLength(1);
    });

    it('answers 409 IDEMPOTENCY_CONFLICT for the same key with another body', async () => {
      const key = `key-${citizenId('eligible')}`;
      expect(
        (await check({ citizen_id: citizenId('eligible') }, { 'idempotency-key': key })).statusCode,
      ).toBe(200);
      const other = await check({ citizen_id: citizenId('eligible') }, { 'idempotency-key': key });
      expect(other.statusCode).toBe(409);
      expect(other.json().code).toBe('IDEMPOTENCY_CONFLICT');
    });

    it('two racing requests with one key make one decision', async () => {
      const id = citizenId('affiliated');
      const key = `race-${id}`;
      const [a, b] = await Promise.all([
        check({ citizen_id: id }, { 'idempotency-key': key }),
        check({ citizen_id: id }, { 'idempotency-key': key }),
      ]);
      expect([a?.statusCode, b?.statusCode]).toEqual([200, 200]);
      expect(a?.json().check_id).toBe(b?.json().check_id);
      expect(await auditRows(app, id)).toHaveLength(1);
    });

    it('does not store hub failures: the same key may be retried', async () => {
      const id = citizenId('eligible');
      hub.setFaults({ failureRate: 1 });
      expect(
        (await check({ citizen_id: id }, { 'idempotency-key': `retry-${id}` })).statusCode,
      ).toBe(503);
      hub.resetFaults();
      const retry = await check({ citizen_id: id }, { 'idempotency-key': `retry-${id}` });
      expect(retry.statusCode).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
    });

    it('refuses a malformed key', async () => {
      const res = await check(
        { citizen_id: citizenId('eligible') },
        { 'idempotency-key': 'has space' },
      );
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0].field).toBe('headers.idempotency-key');
    });
  });

  it('validates the body: digits only, known document types, no unknown fields', async () => {
    const res = await check({ citizen_id: '12ab', document_type: 'XX', extra: 1 });
    expect(res.statusCode).toBe(400);
    const fields = res
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort();
    expect(fields).toEqual(['body.citizen_id', 'body.document_type', 'body.extra']);
    expect(res.json().errors.find((e: { field: string }) => e.field === 'body.extra').message).toBe(
      'Unknown field',
    );
    expect((await check({ citizen_id: '12345' })).statusCode).toBe(400);
    expect((await check({ citizen_id: 1234567 })).statusCode).toBe(400);
  });
});

withServices('GET /affiliation/checks and roles', () => {
  let app: App;
  let hub: Hub;
  beforeAll(async () => {
    hub = await startHub();
    app = await buildTestApp({ GOVCARPETA_URL: hub.url });
  });
  afterAll(async () => {
    await app?.close();
    await hub?.close();
  });

  it('pages through one citizen’s history, newest first, with an opaque cursor', async () => {
    const operator = (await login(app, await createUser(app, ['operator']))).access_token;
    const id = citizenId('eligible');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/affiliation/check',
        headers: bearer(operator),
        payload: { citizen_id: id },
      });
      ids.push(res.json().check_id);
    }
    const auditor = (await login(app, await createUser(app, ['auditor']))).access_token;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `citizen_id=${id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await app.inject({
        url: `/api/v1/affiliation/checks?${q}`,
        headers: bearer(auditor),
      });
      expect(page.statusCode).toBe(200);
      seen.push(...page.json().items.map((c: { check_id: string }) => c.check_id));
      cursor = page.json().next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const bad = await app.inject({
      url: '/api/v1/affiliation/checks?cursor=nope',
      headers: bearer(auditor),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('querystring.cursor');
  });

  it('lets each role do only what it may', async () => {
    const auditor = (await login(app, await createUser(app, ['auditor']))).access_token;
    const service = (await login(app, await createUser(app, ['service']))).access_token;
    const denied = await app.inject({
      method: 'POST',
      url: '/api/v1/affiliation/check',
      headers: bearer(auditor),
      payload: { citizen_id: citizenId('eligible') },
    });
    expect(denied.statusCode).toBe(403);
    const history = await app.inject({
      url: '/api/v1/affiliation/checks',
      headers: bearer(service),
    });
    expect(history.statusCode).toBe(403);
    const anonymous = await app.inject({
      method: 'POST',
      url: '/api/v1/affiliation/check',
      payload: {},
    });
    expect(anonymous.statusCode).toBe(401);
  });
});
