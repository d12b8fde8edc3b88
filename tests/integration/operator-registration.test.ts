import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { parseDirectory } from '../../src/hub/directory.js';
import { operatorRegistrations } from '../../src/operators/operator-registrations.table.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { startHub } from '../helpers/hub.js';
import { expectProblem } from '../helpers/problem.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

withServices("this operator's own registration at the hub", () => {
  let hub: Hub;
  const apps: App[] = [];
  const application = {
    address: 'Carrera 7 # 71-21, Bogotá',
    contact_mail: 'ops@nuevo.example.org',
    participants: ['Eva', 'Iván'],
  };

  const start = async (env: Record<string, string>) => {
    const app = await buildTestApp({
      GOVCARPETA_URL: hub.url,
      PUBLIC_BASE_URL: 'https://nuevo.example.org/',
      ...env,
    });
    apps.push(app);
    const token = (await login(app, await createUser(app, ['admin']))).access_token;
    const call = (method: 'GET' | 'POST', payload?: object) =>
      app.inject({
        method,
        url: '/api/v1/operator/registration',
        headers: bearer(token),
        ...(payload ? { payload } : {}),
      });
    return { app, call };
  };

  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await hub?.close();
  });

  it('registers once, with its endpoints; never again; a run with the id changes nothing', async () => {
    const name = `Nuevo Operador ${Date.now()}`;
    const first = await start({ OPERATOR_NAME: name });
    const before = (await first.call('GET')).json();
    expect(before).toMatchObject({ listed: false, operator_id: null });
    expect(before.notes[0]).toMatch(/lists no operator named/);
    expectProblem(await first.call('POST'), 400, 'VALIDATION_ERROR');

    const done = await first.call('POST', application);
    expect(done.statusCode).toBe(200);
    const report = done.json();
    expect(report).toMatchObject({
      name,
      listed: true,
      registered_now: true,
      endpoints_registered_now: true,
      changed: true,
      transfer_url: 'https://nuevo.example.org/api/transferCitizen',
      expected_transfer_url: 'https://nuevo.example.org/api/transferCitizen',
    });
    expect(report.notes).toContain(
      `registered: set OPERATOR_ID=${report.operator_id} for this service`,
    );
    expect(hub.calls.registerOperator).toBe(1);
    const entry = parseDirectory(hub.directory).operators.find(
      (o) => o.operatorId === report.operator_id,
    );
    expect(entry).toMatchObject({
      name,
      transferUrl: 'https://nuevo.example.org/api/transferCitizen',
    });
    const steps = await first.app.db.select().from(operatorRegistrations);
    expect(
      steps
        .filter((s) => s.operatorId === report.operator_id)
        .map((s) => s.step)
        .sort(),
    ).toEqual(['register_operator', 'register_transfer_endpoints']);

    // Without the id, the name is now listed: it is not registered a second time.
    const twice = expectProblem(await first.call('POST', application), 409, 'CONFLICT');
    expect(twice.detail).toContain(report.operator_id);
    expect(hub.calls.registerOperator).toBe(1);

    // With OPERATOR_ID set: nothing to change, and it says so.
    const configured = await start({ OPERATOR_NAME: name, OPERATOR_ID: report.operator_id });
    const again = (await configured.call('POST')).json();
    expect(again).toMatchObject({
      changed: false,
      registered_now: false,
      endpoints_registered_now: false,
      listed: true,
    });
    expect(again.notes).toContain('nothing to change: the hub has this operator as it is');
    expect(hub.calls.registerOperator).toBe(1);
  });

  it('registers only the endpoints when the operator is listed, under its id, not its name', async () => {
    const { call } = await start({
      OPERATOR_NAME: 'Carpeta Segura',
      OPERATOR_ID: '66ca18cd66ca9f0015a8afb4',
    });
    const report = (await call('POST')).json();
    expect(report).toMatchObject({ registered_now: false, endpoints_registered_now: true });
    expect(
      parseDirectory(hub.directory).operators.find(
        (o) => o.operatorId === '66ca18cd66ca9f0015a8afb4',
      )?.transferUrl,
    ).toBe('https://nuevo.example.org/api/transferCitizen');
  });

  it('refuses what it cannot do safely: a repeated name with no id, an id the directory lacks; admins only', async () => {
    const ambiguous = await start({ OPERATOR_NAME: ' carpeta  segura ' });
    const problem = expectProblem(await ambiguous.call('POST', application), 409, 'CONFLICT');
    expect(problem.detail).toMatch(/lists 2 operator\(s\) named/);
    const unknown = await start({ OPERATOR_NAME: 'X', OPERATOR_ID: 'not-in-the-directory' });
    expectProblem(await unknown.call('POST'), 409, 'CONFLICT');
    const token = (await login(unknown.app, await createUser(unknown.app, ['operator'])))
      .access_token;
    const res = await unknown.app.inject({
      url: '/api/v1/operator/registration',
      headers: bearer(token),
    });
    expectProblem(res, 403, 'FORBIDDEN');
  });
});
