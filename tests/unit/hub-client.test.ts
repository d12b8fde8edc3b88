import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HubClient, type HubClientOptions, HubError, readMessage } from '../../src/hub/client.js';

/** A tiny Fastify app plays GovCarpeta: each test scripts its answers. */
type Script = (req: { method: string; url: string; body: unknown }) => {
  status: number;
  body?: string;
  type?: string;
  delayMs?: number;
  drop?: boolean;
};

describe('HubClient against a scripted hub', () => {
  let hub: FastifyInstance;
  let base: string;
  let script: Script = () => ({ status: 204 });
  const seen: { method: string; url: string; body: unknown; auth?: string }[] = [];
  const calls: string[] = [];
  let client: HubClient;

  const make = (o: Partial<HubClientOptions> = {}) =>
    new HubClient({
      baseUrl: base,
      timeoutMs: 1000,
      retries: 2,
      retryBaseMs: 10,
      connections: 4,
      onCall: (endpoint, outcome) => calls.push(`${endpoint}:${outcome}`),
      ...o,
    });

  beforeAll(async () => {
    hub = Fastify();
    hub.all('/apis/*', async (req, reply) => {
      seen.push({
        method: req.method,
        url: req.url,
        body: req.body,
        auth: req.headers.authorization,
      });
      const answer = script({ method: req.method, url: req.url, body: req.body });
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      if (answer.drop) {
        req.raw.socket.destroy();
        return reply;
      }
      reply.code(answer.status).type(answer.type ?? 'text/plain');
      return answer.status === 204 ? reply.send() : reply.send(answer.body ?? '');
    });
    base = await hub.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => hub.close());
  afterEach(async () => {
    seen.length = 0;
    calls.length = 0;
    await client?.close();
  });

  it('200 means registered, with the sentence in plain text or JSON-quoted', async () => {
    client = make();
    script = () => ({ status: 200, body: 'El ciudadano ya está registrado en Operador X' });
    expect(await client.validateCitizen('1234567890')).toEqual({
      registered: true,
      message: 'El ciudadano ya está registrado en Operador X',
    });
    script = () => ({ status: 200, body: '"Ciudadano registrado"', type: 'application/json' });
    expect((await client.validateCitizen('1234567890')).message).toBe('Ciudadano registrado');
    expect(seen[0]?.url).toBe('/apis/validateCitizen/1234567890');
    expect(calls).toEqual(['validateCitizen:ok', 'validateCitizen:ok']);
  });

  it('204 means not registered', async () => {
    client = make();
    script = () => ({ status: 204 });
    expect(await client.validateCitizen('123456')).toEqual({ registered: false, message: '' });
  });

  it('retries a failing GET with backoff, then succeeds', async () => {
    client = make();
    let n = 0;
    script = () => (++n < 3 ? { status: 500, body: 'boom' } : { status: 204 });
    expect((await client.validateCitizen('123456')).registered).toBe(false);
    expect(seen).toHaveLength(3);
  });

  it('gives up after the retries with a HubError that carries the status, never deciding', async () => {
    client = make({ retries: 1 });
    script = () => ({ status: 501, body: 'Not implemented' });
    const err = await client.validateCitizen('123456').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ failure: 'status', status: 501, endpoint: 'validateCitizen' });
    expect(seen).toHaveLength(2);
    expect(calls).toEqual(['validateCitizen:status']);
  });

  it('holds the deadline across retries when the hub is slow', async () => {
    client = make({ timeoutMs: 300, retries: 5 });
    script = () => ({ status: 204, delayMs: 1000 });
    const started = Date.now();
    const err = await client.validateCitizen('123456').catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'timeout' });
    expect(Date.now() - started).toBeLessThan(700);
  });

  it('reports a dropped or refused connection as a connection failure', async () => {
    client = make({ retries: 0 });
    script = () => ({ status: 200, drop: true });
    expect(await client.validateCitizen('123456').catch((e: unknown) => e)).toMatchObject({
      failure: 'connection',
    });
    await client.close();
    client = make({ baseUrl: 'http://127.0.0.1:1', retries: 0 });
    expect(await client.validateCitizen('123456').catch((e: unknown) => e)).toMatchObject({
      failure: 'connection',
    });
  });

  it('authenticates documents with the hub field names, never retrying the PUT', async () => {
    client = make({ apiKey: 'hub-key' });
    script = () => ({ status: 200, body: 'Documento autenticado' });
    const input = {
      citizenId: '1032456789',
      documentUrl: 'https://bucket.example/doc.pdf?X-Amz-Signature=abc',
      documentTitle: 'Diploma',
    };
    expect(await client.authenticateDocument(input)).toEqual({
      authenticated: true,
      message: 'Documento autenticado',
    });
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      url: '/apis/authenticateDocument',
      body: { idCitizen: 1032456789, UrlDocument: input.documentUrl, documentTitle: 'Diploma' },
      auth: 'Bearer hub-key',
    });

    for (const status of [204, 400, 404]) {
      script = () => ({ status, body: status === 204 ? '' : 'no' });
      expect((await client.authenticateDocument(input)).authenticated).toBe(false);
    }
    seen.length = 0;
    script = () => ({ status: 500, body: 'error' });
    const err = await client.authenticateDocument(input).catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'status', status: 500 });
    expect(seen).toHaveLength(1);
    expect(String((err as Error).message)).not.toContain('bucket.example');
  });
});

describe('HubClient: registering, unregistering, the directory, our own registration', () => {
  let hub: FastifyInstance;
  let base: string;
  let script: Script = () => ({ status: 204 });
  const seen: { method: string; url: string; body: unknown }[] = [];
  let client: HubClient;

  beforeAll(async () => {
    hub = Fastify();
    hub.all('/apis/*', async (req, reply) => {
      seen.push({ method: req.method, url: req.url, body: req.body });
      const answer = script({ method: req.method, url: req.url, body: req.body });
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      reply.code(answer.status).type(answer.type ?? 'text/plain');
      return answer.status === 204 ? reply.send() : reply.send(answer.body ?? '');
    });
    base = await hub.listen({ port: 0, host: '127.0.0.1' });
    client = new HubClient({
      baseUrl: base,
      timeoutMs: 300,
      retries: 2,
      retryBaseMs: 1,
      connections: 2,
    });
  });
  afterAll(async () => {
    await client.close();
    await hub.close();
  });
  afterEach(() => {
    seen.length = 0;
  });

  const registration = {
    citizenId: '1032456780',
    name: 'Ana',
    address: 'Calle 1',
    email: 'ana@example.org',
    operatorId: 'op-1',
    operatorName: 'Operador Uno',
  };

  it("registerCitizen: 201 registered, 501 already registered; the body has the hub's casing", async () => {
    script = () => ({ status: 201, body: 'Ciudadano registrado' });
    expect(await client.registerCitizen(registration)).toEqual({
      outcome: 'registered',
      status: 201,
      message: 'Ciudadano registrado',
    });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/apis/registerCitizen',
      body: {
        id: 1032456780,
        name: 'Ana',
        address: 'Calle 1',
        email: 'ana@example.org',
        operatorId: 'op-1',
        operatorName: 'Operador Uno',
      },
    });
    script = () => ({ status: 501, body: '"ya registrado"', type: 'application/json' });
    expect(await client.registerCitizen(registration)).toMatchObject({
      outcome: 'already_registered',
      message: 'ya registrado',
    });
  });

  it('registerCitizen and unregisterCitizen are never retried: a 500 or a timeout is one call', async () => {
    for (const answer of [{ status: 500 }, { status: 201, delayMs: 1000 }]) {
      seen.length = 0;
      script = () => answer;
      const err = await client.registerCitizen(registration).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubError);
      expect(seen).toHaveLength(1);
      seen.length = 0;
      const err2 = await client
        .unregisterCitizen({
          citizenId: '1032456780',
          operatorId: 'op-1',
          operatorName: 'Operador Uno',
        })
        .catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(HubError);
      expect(seen).toHaveLength(1);
    }
  });

  it('unregisterCitizen is a DELETE with a JSON body; 201 and 204 both mean done', async () => {
    for (const status of [201, 204]) {
      seen.length = 0;
      script = () => ({ status });
      const answer = await client.unregisterCitizen({
        citizenId: '1032456780',
        operatorId: 'op-1',
        operatorName: 'Operador Uno',
      });
      expect(answer).toMatchObject({ outcome: 'unregistered', status });
      expect(seen[0]).toMatchObject({
        method: 'DELETE',
        url: '/apis/unregisterCitizen',
        body: { id: 1032456780, operatorId: 'op-1', operatorName: 'Operador Uno' },
      });
    }
    script = () => ({ status: 501 });
    expect(
      await client
        .unregisterCitizen({ citizenId: '1', operatorId: 'x', operatorName: 'y' })
        .catch((e: unknown) => e),
    ).toMatchObject({ failure: 'status', status: 501 });
  });

  it('getOperators is retried like a GET, and an answer that is not JSON is a failure', async () => {
    let n = 0;
    script = () =>
      ++n < 3
        ? { status: 503 }
        : { status: 200, body: '[{"_id":"a","operatorName":"A"}]', type: 'application/json' };
    expect(await client.getOperators()).toEqual([{ _id: 'a', operatorName: 'A' }]);
    expect(seen).toHaveLength(3);
    script = () => ({ status: 200, body: '<html>', type: 'text/html' });
    expect(await client.getOperators().catch((e: unknown) => e)).toBeInstanceOf(HubError);
  });

  it('registerOperator sends both spellings once and reads the id however it comes', async () => {
    const application = {
      name: 'Mi Operador',
      address: 'Calle 9',
      contactMail: 'ops@mi.example.org',
      participants: ['Eva'],
    };
    for (const [body, id] of [
      ['"66aa00000000000000000001"', '66aa00000000000000000001'],
      ['66aa00000000000000000002', '66aa00000000000000000002'],
      ['{"_id":"66aa00000000000000000003"}', '66aa00000000000000000003'],
      ['{"operatorId":"66aa00000000000000000004"}', '66aa00000000000000000004'],
      ['', undefined],
      ['Operador creado con exito', undefined],
    ] as const) {
      seen.length = 0;
      script = () => ({ status: 201, body });
      expect(await client.registerOperator(application)).toEqual(id ? { operatorId: id } : {});
      expect(seen).toHaveLength(1);
    }
    expect(seen[0]?.body).toEqual({
      name: 'Mi Operador',
      nameOperator: 'Mi Operador',
      address: 'Calle 9',
      adress: 'Calle 9',
      contactMail: 'ops@mi.example.org',
      participants: ['Eva'],
    });
    seen.length = 0;
    script = () => ({ status: 500 });
    expect(await client.registerOperator(application).catch((e: unknown) => e)).toBeInstanceOf(
      HubError,
    );
    expect(seen).toHaveLength(1); // no delete in the directory: never twice
  });

  it('registerTransferEndPoint is a PUT with idOperator, retried', async () => {
    let n = 0;
    script = () => (++n < 2 ? { status: 500 } : { status: 201 });
    await client.registerTransferEndPoint({
      operatorId: 'op-1',
      endPoint: 'https://us.example.org/api/transferCitizen',
      endPointConfirm: 'https://us.example.org/api/transferCitizenConfirm',
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatchObject({
      method: 'PUT',
      url: '/apis/registerTransferEndPoint',
      body: {
        idOperator: 'op-1',
        endPoint: 'https://us.example.org/api/transferCitizen',
        endPointConfirm: 'https://us.example.org/api/transferCitizenConfirm',
      },
    });
  });
});

describe('readMessage', () => {
  it('reads plain text, JSON strings and JSON objects, and bounds the length', () => {
    expect(readMessage('  hola  ')).toBe('hola');
    expect(readMessage('"hola"')).toBe('hola');
    expect(readMessage('{"message":"hola"}')).toBe('hola');
    expect(readMessage('"unterminated')).toBe('"unterminated');
    expect(readMessage('x'.repeat(2000))).toHaveLength(500);
  });
});
