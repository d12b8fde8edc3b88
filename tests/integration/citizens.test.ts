import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { citizenActions } from '../../src/citizens/citizen-actions.table.js';
import { citizens } from '../../src/citizens/citizens.table.js';
import { outbox } from '../../src/messaging/outbox.table.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { expectProblem } from '../helpers/problem.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

const US = { OPERATOR_ID: 'op-test-us', OPERATOR_NAME: 'Operador de Pruebas' };

withServices('citizens: registering and unregistering at the hub', () => {
  let hub: Hub;
  let app: App;
  let operator: string;
  let auditor: string;

  const person = (id = citizenId('eligible')) => ({
    citizen_id: id,
    name: 'Ana María Pérez',
    address: 'Calle 10 # 20-30, Bogotá',
    email: 'ana.perez@example.org',
  });
  const register = (body: object, token = operator, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/citizens',
      headers: { ...bearer(token), ...headers },
      payload: body,
    });
  const unregister = (id: string, token = operator) =>
    app.inject({ method: 'DELETE', url: `/api/v1/citizens/${id}`, headers: bearer(token) });
  const actionsOf = (id: string) =>
    app.db.select().from(citizenActions).where(eq(citizenActions.citizenId, id));
  const eventsOf = async (id: string, key: string) =>
    (await app.db.select().from(outbox).where(eq(outbox.routingKey, key))).filter(
      (e) => (e.payload as { citizen_id?: string }).citizen_id === id,
    );

  beforeAll(async () => {
    hub = await startHub();
    app = await buildTestApp(
      { GOVCARPETA_URL: hub.url, HUB_TIMEOUT_MS: '500', ...US },
      { tuning: { hub: { retries: 0, breaker: { minCalls: 1000 } } } },
    );
    operator = (await login(app, await createUser(app, ['operator']))).access_token;
    auditor = (await login(app, await createUser(app, ['auditor']))).access_token;
  });
  afterAll(async () => {
    await app?.close();
    await hub?.close();
  });
  beforeEach(() => hub.resetFaults());

  it('201: registered with this operator at the hub, recorded, audited and announced together', async () => {
    const body = person();
    const res = await register(body);
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({
      citizen_id: body.citizen_id,
      status: 'REGISTERED',
      operator_id: US.OPERATOR_ID,
      settled_by: null,
    });
    expect(hub.registration(body.citizen_id)).toEqual({
      operatorId: US.OPERATOR_ID,
      operatorName: US.OPERATOR_NAME,
    });
    const [record] = await app.db
      .select()
      .from(citizens)
      .where(eq(citizens.citizenId, body.citizen_id));
    expect(record).toMatchObject({
      status: 'REGISTERED',
      email: body.email,
      operatorId: US.OPERATOR_ID,
    });
    const [action] = await actionsOf(body.citizen_id);
    expect(action).toMatchObject({
      id: created.action_id,
      action: 'REGISTER',
      outcome: 'REGISTERED',
      hubStatus: 201,
      attempts: 1,
    });
    const events = await eventsOf(body.citizen_id, 'citizen.registered');
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({
      action_id: created.action_id,
      operator_id: US.OPERATOR_ID,
    });

    // The answer cache forgot the citizen: a check now says it is affiliated.
    const check = await app.inject({
      method: 'POST',
      url: '/api/v1/affiliation/check',
      headers: bearer(operator),
      payload: { citizen_id: body.citizen_id },
    });
    expect(check.json()).toMatchObject({ status: 'ALREADY_AFFILIATED' });
  });

  it('409 ALREADY_REGISTERED when the hub says 501, audited, nothing recorded or announced', async () => {
    const id = citizenId('affiliated'); // the simulator: registered with another operator
    const res = expectProblem(await register(person(id)), 409, 'ALREADY_REGISTERED');
    expect(res.detail).toMatch(/already registered/);
    const [action] = await actionsOf(id);
    expect(action).toMatchObject({ outcome: 'ALREADY_REGISTERED', hubStatus: 501 });
    expect(await app.db.select().from(citizens).where(eq(citizens.citizenId, id))).toEqual([]);
    expect(await eventsOf(id, 'citizen.registered')).toEqual([]);
  });

  it('503 when the hub fails, audited as ERROR, never a decision', async () => {
    hub.setFaults({ failureRate: 1, failureStatus: 500 });
    const id = citizenId('eligible');
    const res = await register(person(id));
    expectProblem(res, 503, 'UPSTREAM_UNAVAILABLE');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    const [action] = await actionsOf(id);
    expect(action).toMatchObject({ outcome: 'ERROR', hubStatus: 500 });
    expect(action?.message).toMatch(/answered 500; nothing was decided/);
    // Ambiguous, so settled: validateCitizen failed too, and nothing was sent a second time.
    expect(hub.calls.registerCitizen).toBeGreaterThan(0);
    expect(hub.registration(id)).toBeNull();
    expect(await eventsOf(id, 'citizen.registered')).toEqual([]);
  });

  it('an ambiguous answer (500 after the hub registered) is settled by validateCitizen: one registration', async () => {
    hub.setFaults(
      { failureRate: 1, failureStatus: 500, strike: 'after', times: 1 },
      'registerCitizen',
    );
    const before = hub.calls.registerCitizen ?? 0;
    const id = citizenId('eligible');
    const res = await register(person(id));
    expect(res.statusCode).toBe(201);
    expect(res.json().settled_by).toBe('validateCitizen');
    expect(hub.calls.registerCitizen).toBe(before + 1);
    const [action] = await actionsOf(id);
    expect(action?.message).toMatch(/ambiguous \(500\), settled by validateCitizen/);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(
      /hub_settlements_total\{endpoint="registerCitizen",result="registered"\} 1/,
    );
  });

  it('resumes an ask whose process died at the hub: "already registered" is settled as ours', async () => {
    const id = citizenId('eligible');
    // An earlier try reached the hub, then its process died before recording the answer.
    await app.db.insert(citizenActions).values({
      id: randomUUID(),
      citizenId: id,
      action: 'REGISTER',
      outcome: 'PENDING',
      message: 'asked of the hub',
      channel: 'http',
    });
    await fetch(`${hub.url}/apis/registerCitizen`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: Number(id),
        name: 'Ana',
        address: 'x',
        email: 'a@example.org',
        operatorId: US.OPERATOR_ID,
        operatorName: US.OPERATOR_NAME,
      }),
    });
    const res = await register(person(id));
    expect(res.statusCode).toBe(201);
    expect(res.json().settled_by).toBe('validateCitizen');
  });

  it('replays an answer under its Idempotency-Key without asking the hub again', async () => {
    const body = person();
    const key = randomUUID();
    const first = await register(body, operator, { 'idempotency-key': key });
    const calls = hub.calls.registerCitizen;
    const again = await register(body, operator, { 'idempotency-key': key });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(hub.calls.registerCitizen).toBe(calls);
    expectProblem(
      await register({ ...body, name: 'Otra' }, operator, { 'idempotency-key': key }),
      409,
      'IDEMPOTENCY_CONFLICT',
    );
  });

  it("unregisters: 204, recorded and announced; the hub's 204 for one not there is said in the audit", async () => {
    const body = person();
    await register(body);
    expect((await unregister(body.citizen_id)).statusCode).toBe(204);
    expect(hub.registration(body.citizen_id)).toBeNull();
    const [record] = await app.db
      .select()
      .from(citizens)
      .where(eq(citizens.citizenId, body.citizen_id));
    expect(record?.status).toBe('UNREGISTERED');
    expect(await eventsOf(body.citizen_id, 'citizen.unregistered')).toHaveLength(1);

    expect((await unregister(body.citizen_id)).statusCode).toBe(204); // not there any more
    const history = (
      await app.inject({ url: `/api/v1/citizens/${body.citizen_id}`, headers: bearer(auditor) })
    ).json();
    expect(history).toMatchObject({ status: 'UNREGISTERED', name: body.name, email: body.email });
    expect(
      history.history.map((h: { action: string; outcome: string }) => `${h.action}:${h.outcome}`),
    ).toEqual(['UNREGISTER:UNREGISTERED', 'UNREGISTER:UNREGISTERED', 'REGISTER:REGISTERED']);
    expect(history.history[0].message).toMatch(/204: done, or the citizen was not registered/);

    hub.setFaults({ failureRate: 1, failureStatus: 503 });
    expectProblem(await unregister(body.citizen_id), 503, 'UPSTREAM_UNAVAILABLE');
  });

  it('validates bodies strictly and checks roles', async () => {
    for (const bad of [
      { ...person(), email: 'not-an-email' },
      { ...person(), name: 'x'.repeat(201) },
      { ...person(), address: '' },
      { ...person(), citizen_id: '12ab' },
      { ...person(), extra: 1 },
      { citizen_id: citizenId('eligible') },
    ]) {
      expectProblem(await register(bad), 400, 'VALIDATION_ERROR');
    }
    expectProblem(await register(person(), auditor), 403, 'FORBIDDEN');
    expectProblem(await unregister(citizenId('eligible'), auditor), 403, 'FORBIDDEN');
    expectProblem(
      await app.inject({
        url: `/api/v1/citizens/${citizenId('eligible')}`,
        headers: bearer(auditor),
      }),
      404,
      'NOT_FOUND',
    );
  });

  it('GET /operators: the messy directory, normalised; stale with a flag when the hub fails; 503 with no copy', async () => {
    const fresh = await buildTestApp(
      { GOVCARPETA_URL: hub.url, OPERATORS_CACHE_TTL_SECONDS: '0', ...US },
      { tuning: { hub: { retries: 0 } } },
    );
    try {
      const token = (await login(fresh, await createUser(fresh, ['service']))).access_token;
      const list = () => fresh.inject({ url: '/api/v1/operators', headers: bearer(token) });
      hub.setFaults({ failureRate: 1, failureStatus: 500 }, 'getOperators');
      expectProblem(await list(), 503, 'UPSTREAM_UNAVAILABLE');
      hub.resetFaults();
      const ok = (await list()).json();
      expect(ok.stale).toBe(false);
      expect(ok.items).toContainEqual({
        operator_id: '66ca18cd66ca9f0015a8afb3',
        name: 'Operador Ciudadano',
        transfer_url: 'https://operador-ciudadano.example.org/api/transferCitizen',
        accepts_transfers: true,
      });
      expect(ok.items).toContainEqual({
        operator_id: '66ca18cd66ca9f0015a8afb4',
        name: 'Carpeta Segura',
        transfer_url: null,
        accepts_transfers: false,
      });
      expect(ok.items.some((o: { name: string }) => o.name === 'Operador sin identificador')).toBe(
        false,
      );
      hub.setFaults({ failureRate: 1, failureStatus: 500 }, 'getOperators');
      const stale = (await list()).json();
      expect(stale.stale).toBe(true);
      expect(stale.items).toEqual(ok.items);
      const metrics = (await fresh.inject('/metrics')).body;
      expect(metrics).toMatch(/operator_directory_skipped_entries_total 1/);
      expect(metrics).toMatch(/operator_directory_stale_total 1/);
    } finally {
      await fresh.close();
    }
  });

  it("without this operator's identity against a real hub, registering is off: 503 naming what is missing", async () => {
    const anonymous = await buildTestApp({ GOVCARPETA_URL: hub.url });
    try {
      const token = (await login(anonymous, await createUser(anonymous, ['admin']))).access_token;
      const res = await anonymous.inject({
        method: 'POST',
        url: '/api/v1/citizens',
        headers: bearer(token),
        payload: person(),
      });
      const problem = expectProblem(res, 503, 'NOT_CONFIGURED');
      expect(problem.detail).toMatch(/OPERATOR_ID and OPERATOR_NAME/);
      // The rest of the service works.
      const check = await anonymous.inject({
        method: 'POST',
        url: '/api/v1/affiliation/check',
        headers: bearer(token),
        payload: { citizen_id: citizenId('eligible') },
      });
      expect(check.statusCode).toBe(200);
    } finally {
      await anonymous.close();
    }
  });
});
