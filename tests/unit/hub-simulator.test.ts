import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHubSimulator, type HubSimulator } from '../../src/hub/simulator.js';

describe('GovCarpeta simulator', () => {
  let sim: HubSimulator;
  beforeAll(() => {
    sim = buildHubSimulator();
  });
  afterAll(() => sim.app.close());

  it('answers per id, and registerCitizen/unregisterCitizen change the answer', async () => {
    expect((await sim.app.inject('/apis/validateCitizen/1234567890')).statusCode).toBe(204);
    expect((await sim.app.inject('/apis/validateCitizen/abc')).statusCode).toBe(501);
    const register = {
      id: 1234567890,
      name: 'Ana',
      address: 'x',
      email: 'a@x',
      operatorId: '1',
      operatorName: 'Op',
    };
    expect(
      (await sim.app.inject({ method: 'POST', url: '/apis/registerCitizen', payload: register }))
        .statusCode,
    ).toBe(201);
    expect(
      (await sim.app.inject({ method: 'POST', url: '/apis/registerCitizen', payload: register }))
        .statusCode,
    ).toBe(501);
    const registered = await sim.app.inject('/apis/validateCitizen/1234567890');
    expect(registered.statusCode).toBe(200);
    expect(JSON.parse(registered.body)).toMatch(/registrado/); // JSON-quoted for even lengths
    expect(
      (
        await sim.app.inject({
          method: 'DELETE',
          url: '/apis/unregisterCitizen',
          payload: { id: 1234567890 },
        })
      ).statusCode,
    ).toBe(204);
    expect((await sim.app.inject('/apis/validateCitizen/1234567890')).statusCode).toBe(204);
    expect((await sim.app.inject('/apis/getOperators')).json()).toHaveLength(2);
  });

  it('authenticates documents, rejects forged ones and refuses malformed bodies', async () => {
    const put = (payload: unknown) =>
      sim.app.inject({
        method: 'PUT',
        url: '/apis/authenticateDocument',
        payload: payload as object,
      });
    expect(
      (await put({ idCitizen: 123456, UrlDocument: 'https://x/a.pdf', documentTitle: 'T' }))
        .statusCode,
    ).toBe(200);
    expect(
      (await put({ idCitizen: 123456, UrlDocument: 'https://x/forged.pdf', documentTitle: 'T' }))
        .statusCode,
    ).toBe(204);
    expect((await put({ idCitizen: '123456', urlDocument: 'https://x/a.pdf' })).statusCode).toBe(
      400,
    );
  });

  it('injects faults over HTTP and reports what it received', async () => {
    const set = await sim.app.inject({
      method: 'PUT',
      url: '/__sim/faults',
      payload: { failureRate: 1, failureStatus: 502 },
    });
    expect(set.json()).toMatchObject({ failureRate: 1, failureStatus: 502, latencyMs: 0 });
    expect((await sim.app.inject('/apis/validateCitizen/1234567')).statusCode).toBe(502);
    expect(
      (await sim.app.inject({ method: 'PUT', url: '/__sim/faults', payload: { failureRate: 2 } }))
        .statusCode,
    ).toBe(400);
    expect((await sim.app.inject({ method: 'DELETE', url: '/__sim/faults' })).statusCode).toBe(204);
    expect((await sim.app.inject('/apis/validateCitizen/1234567')).statusCode).toBe(200);
    const stats = (await sim.app.inject('/__sim/stats')).json();
    expect(stats.calls.validateCitizen).toBeGreaterThanOrEqual(2);
  });
});
