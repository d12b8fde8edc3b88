import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDirectory } from '../../src/hub/directory.js';
import { buildHubSimulator, type HubSimulator } from '../../src/hub/simulator.js';

describe('GovCarpeta simulator', () => {
  let sim: HubSimulator;
  beforeAll(() => {
    sim = buildHubSimulator();
  });
  afterAll(() => sim.app.close());

  const post = (url: string, payload: object) => sim.app.inject({ method: 'POST', url, payload });
  const citizen = (id: number, operatorId = 'op-1') => ({
    id,
    name: 'Ana',
    address: 'Calle 1',
    email: 'ana@example.org',
    operatorId,
    operatorName: ' Operador Uno ',
  });

  it('keeps who registered a citizen: validateCitizen names the operator, a second registration is 501', async () => {
    expect((await sim.app.inject('/apis/validateCitizen/1234567890')).statusCode).toBe(204);
    expect((await sim.app.inject('/apis/validateCitizen/abc')).statusCode).toBe(501);
    expect((await post('/apis/registerCitizen', citizen(1234567890))).statusCode).toBe(201);
    expect((await post('/apis/registerCitizen', citizen(1234567890, 'op-2'))).statusCode).toBe(501);
    const registered = await sim.app.inject('/apis/validateCitizen/1234567890');
    expect(registered.statusCode).toBe(200);
    expect(JSON.parse(registered.body)).toMatch(/registrado en el operador Operador Uno$/); // quoted
    expect(sim.registration('1234567890')).toEqual({
      operatorId: 'op-1',
      operatorName: 'Operador Uno',
    });
    expect((await post('/apis/registerCitizen', { id: 1 })).statusCode).toBe(500);
  });

  it('unregisters with a DELETE and a body: 201 when it was there, 204 when it was not', async () => {
    const unregister = (id: number) =>
      sim.app.inject({ method: 'DELETE', url: '/apis/unregisterCitizen', payload: { id } });
    expect((await post('/apis/registerCitizen', citizen(2222222220))).statusCode).toBe(201);
    expect((await unregister(2222222220)).statusCode).toBe(201);
    expect((await unregister(2222222220)).statusCode).toBe(204);
    expect((await sim.app.inject('/apis/validateCitizen/2222222220')).statusCode).toBe(204);
    // An id it was not told about: odd last digit means registered; unregistering frees it.
    expect((await sim.app.inject('/apis/validateCitizen/3333333331')).statusCode).toBe(200);
    expect((await unregister(3333333331)).statusCode).toBe(201);
    expect((await sim.app.inject('/apis/validateCitizen/3333333331')).statusCode).toBe(204);
  });

  it('serves a messy directory that a tolerant reader can use, and grows it', async () => {
    const first = parseDirectory((await sim.app.inject('/apis/getOperators')).json());
    expect(first.skipped).toBe(1); // the entry with no id
    expect(first.operators.map((o) => o.name)).toEqual([
      'Operador Local',
      'Operador Ciudadano',
      'Carpeta Segura',
      'Carpeta Segura',
      'MiCarpeta',
    ]);
    expect(first.operators.filter((o) => o.transferUrl).map((o) => o.transferUrl)).toEqual([
      'https://operador-ciudadano.example.org/api/transferCitizen',
    ]);

    const registered = await post('/apis/registerOperator', {
      name: 'Nuevo Operador',
      nameOperator: 'Nuevo Operador',
      address: 'Calle 2',
      adress: 'Calle 2',
      contactMail: 'ops@nuevo.example.org',
      participants: ['Eva'],
    });
    expect(registered.statusCode).toBe(201);
    const id = JSON.parse(registered.body) as string;
    const endpoints = await sim.app.inject({
      method: 'PUT',
      url: '/apis/registerTransferEndPoint',
      payload: {
        idOperator: id,
        endPoint: 'https://nuevo.example.org/api/transferCitizen',
        endPointConfirm: 'https://nuevo.example.org/api/transferCitizenConfirm',
      },
    });
    expect(endpoints.statusCode).toBe(201);
    const after = parseDirectory((await sim.app.inject('/apis/getOperators')).json());
    expect(after.operators.find((o) => o.operatorId === id)).toEqual({
      operatorId: id,
      name: 'Nuevo Operador',
      transferUrl: 'https://nuevo.example.org/api/transferCitizen',
    });
    const unknown = await sim.app.inject({
      method: 'PUT',
      url: '/apis/registerTransferEndPoint',
      payload: { idOperator: 'nope', endPoint: 'x', endPointConfirm: 'y' },
    });
    expect(unknown.statusCode).toBe(501);
  });

  it('authenticates documents unless the URL says otherwise', async () => {
    const put = (url: string) =>
      sim.app.inject({
        method: 'PUT',
        url: '/apis/authenticateDocument',
        payload: { idCitizen: 123456, UrlDocument: url, documentTitle: 'Diploma' },
      });
    expect((await put('https://x.example.org/a.pdf')).statusCode).toBe(200);
    expect((await put('https://x.example.org/forged.pdf')).statusCode).toBe(204);
  });

  it('injects faults for every endpoint or for one, over HTTP, and reports what it received', async () => {
    const put = (payload: object) =>
      sim.app.inject({ method: 'PUT', url: '/__sim/faults', payload });
    expect(
      (await put({ failureRate: 1, failureStatus: 503, endpoint: 'registerCitizen' })).statusCode,
    ).toBe(200);
    expect((await post('/apis/registerCitizen', citizen(4444444440))).statusCode).toBe(503);
    expect((await sim.app.inject('/apis/validateCitizen/4444444440')).statusCode).toBe(204);
    expect((await put({ failureRate: 1, failureStatus: 502 })).statusCode).toBe(200);
    expect((await sim.app.inject('/apis/validateCitizen/4444444440')).statusCode).toBe(502);
    expect((await put({ latencyMs: 'slow' })).statusCode).toBe(400);
    const stats = (await sim.app.inject('/__sim/stats')).json();
    expect(stats.calls.registerCitizen).toBeGreaterThan(0);
    expect(stats.endpoints.registerCitizen).toMatchObject({ failureStatus: 503 });
    expect((await sim.app.inject({ method: 'DELETE', url: '/__sim/faults' })).statusCode).toBe(204);
    expect((await sim.app.inject('/apis/validateCitizen/4444444440')).statusCode).toBe(204);
  });
});
