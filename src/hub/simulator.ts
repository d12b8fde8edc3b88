import { randomBytes } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { z } from 'zod';
import { HUB_ENDPOINTS, type HubEndpoint } from './client.js';

/**
 * A stand-in for GovCarpeta, for development and tests only (production config refuses it).
 * Stateful for every call, deterministic for what it has not been told, with faults on demand
 * (docs/hub-simulator.md says how to drive it):
 *
 * - citizens: registerCitizen and unregisterCitizen change what validateCitizen answers. An id
 *   it was not told about is registered (with "Operador Ciudadano") when its last digit is odd.
 * - the directory: a few realistic, messy entries (stray spaces, a repeated name, entries with no
 *   or a broken transfer URL, one with no id), the embedded defaults' own operator
 *   (LOCAL_OPERATOR), plus the operators registered since; transfer
 *   endpoints registered for an operator appear as its `transferAPIURL`.
 * - authenticateDocument: 200 unless the URL contains `invalid`, `forged` or `rejected` (204).
 * - Faults (`PUT /__sim/faults`, optionally for one endpoint; `DELETE /__sim/faults`): latency, a
 *   failure rate with a status, and a rate of dropped connections. `GET /__sim/stats` counts calls.
 */

export const faultsSchema = z.strictObject({
  latencyMs: z.number().int().min(0).max(120_000).default(0),
  failureRate: z.number().min(0).max(1).default(0),
  failureStatus: z.number().int().min(400).max(599).default(500),
  dropRate: z.number().min(0).max(1).default(0),
  /**
   * `after`: the call takes effect first (a citizen is registered), then the fault strikes (the
   * answer is late, fails or never comes): the ambiguous outcomes a client must settle.
   */
  strike: z.enum(['before', 'after']).default('before'),
  /** The faults apply to this many calls, then go; unset: until changed. */
  times: z.number().int().min(1).max(1_000_000).optional(),
});
export type Faults = z.infer<typeof faultsSchema>;

const faultsRequest = faultsSchema.extend({ endpoint: z.enum(HUB_ENDPOINTS).optional() });

/** The environment of `npm run hub:sim` (the simulator process has its own small config). */
export const simulatorEnvSchema = z.object({
  NODE_ENV: z.string().default('development'),
  HUB_SIM_HOST: z.string().min(1).default('127.0.0.1'),
  HUB_SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  HUB_SIM_PEER_PORT: z.coerce.number().int().min(0).max(65535).default(8091),
  LOG_LEVEL: z.string().default('info'),
});

const NO_FAULTS: Faults = faultsSchema.parse({});

/** The operator that ids it was not told about (odd last digit) are registered with. */
export const SIMULATED_OPERATOR = { id: '66ca18cd66ca9f0015a8afb3', name: 'Operador Ciudadano' };

/**
 * The identity of a service that runs on embedded defaults: listed in the directory, with no
 * transfer endpoints yet (`npm run operator:register` registers them).
 */
export const LOCAL_OPERATOR = { id: '66ca18cd66ca9f0015a8afb5', name: 'Operador Local' };

/** The directory it starts with, in the shapes the real one has been seen to use. */
export function seededDirectory(): Record<string, unknown>[] {
  return [
    { _id: LOCAL_OPERATOR.id, operatorName: LOCAL_OPERATOR.name, participants: [] },
    {
      _id: SIMULATED_OPERATOR.id,
      operatorName: ` ${SIMULATED_OPERATOR.name} `,
      participants: ['Ana', 'Luis'],
      transferAPIURL: ' https://operador-ciudadano.example.org/api/transferCitizen',
    },
    { OperatorId: '66ca18cd66ca9f0015a8afb4', OperatorName: 'Carpeta Segura' },
    { _id: '66ca18cd66ca9f0015a8afb6', operatorName: 'Carpeta Segura  ', transferAPIURL: '' },
    { _id: '66ca18cd66ca9f0015a8afb7', operatorName: 'MiCarpeta', transferAPIURL: 'por definir' },
    { operatorName: 'Operador sin identificador', transferAPIURL: 'https://x.example.org' },
  ];
}

const citizenId = z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]);
const registerBody = z.object({
  id: citizenId,
  name: z.string().min(1),
  address: z.string().min(1),
  email: z.string().min(1),
  operatorId: z.string().min(1),
  operatorName: z.string().min(1),
});
const unregisterBody = z.object({
  id: citizenId,
  operatorId: z.string().optional(),
  operatorName: z.string().optional(),
});
const authenticateBody = z.object({
  idCitizen: z.number().int().positive(),
  UrlDocument: z.url(),
  documentTitle: z.string().min(1),
});
const operatorBody = z.object({
  name: z.string().min(1).optional(),
  nameOperator: z.string().min(1).optional(),
  address: z.string().optional(),
  adress: z.string().optional(),
  contactMail: z.string().min(1),
  participants: z.array(z.string()).optional(),
});
const endpointsBody = z.object({
  idOperator: z.string().min(1),
  endPoint: z.string().min(1),
  endPointConfirm: z.string().min(1),
});

export interface HubSimulator {
  app: FastifyInstance;
  /** Calls received per endpoint name (`validateCitizen`, `authenticateDocument`, ...). */
  calls: Record<string, number>;
  /** The operator a citizen is registered with, as validateCitizen would answer; null: free. */
  registration(citizenId: string): { operatorId: string; operatorName: string } | null;
  /** The directory as getOperators would answer now. */
  directory: Record<string, unknown>[];
  /** Faults for every endpoint, or (with `endpoint`) for one: they replace the earlier ones. */
  setFaults(faults: Partial<Faults>, endpoint?: HubEndpoint): void;
  resetFaults(): void;
}

export function buildHubSimulator(
  options: Pick<FastifyServerOptions, 'logger'> = {},
): HubSimulator {
  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
  const calls: Record<string, number> = {};
  const registered = new Map<string, { operatorId: string; operatorName: string }>();
  const freed = new Set<string>();
  const directory = seededDirectory();
  let faults: Faults = { ...NO_FAULTS };
  const endpointFaults = new Map<string, Faults>();

  const registration = (id: string) => {
    const known = registered.get(id);
    if (known) return known;
    if (freed.has(id) || Number(id.at(-1)) % 2 === 0) return null;
    return { operatorId: SIMULATED_OPERATOR.id, operatorName: SIMULATED_OPERATOR.name };
  };

  const endpointOf = (url: string) => url.split('/')[2]?.split('?')[0] ?? 'unknown';
  /** Latency, then a dropped connection or a failure status: true when the answer is taken over. */
  const strike = async (f: Faults, request: FastifyRequest, reply: FastifyReply) => {
    if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
    if (Math.random() < f.dropRate) {
      request.raw.socket.destroy();
      return 'dropped';
    }
    if (Math.random() < f.failureRate) {
      reply.code(f.failureStatus).type('text/plain');
      return 'failed';
    }
    return undefined;
  };
  /** The faults for this call of `name` (counting down those set for a number of calls). */
  const faultsFor = (name: string): Faults => {
    const own = endpointFaults.get(name);
    const f = own ?? faults;
    if (f.times !== undefined) {
      const left = f.times - 1;
      const next = left > 0 ? { ...f, times: left } : undefined;
      if (own) {
        if (next) endpointFaults.set(name, next);
        else endpointFaults.delete(name);
      } else {
        faults = next ?? { ...NO_FAULTS };
      }
    }
    return f;
  };
  const struckBy = new WeakMap<FastifyRequest, Faults>();
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/apis/')) return;
    const name = endpointOf(request.url);
    calls[name] = (calls[name] ?? 0) + 1;
    const f = faultsFor(name);
    struckBy.set(request, f);
    if (f.strike !== 'before') return;
    const struck = await strike(f, request, reply);
    if (struck === 'dropped') return reply.hijack();
    if (struck === 'failed') return reply.send('Simulated hub failure');
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const f = struckBy.get(request);
    if (f?.strike !== 'after') return payload;
    const struck = await strike(f, request, reply);
    return struck === 'failed' ? 'Simulated hub failure (after the change was made)' : payload;
  });

  app.get<{ Params: { id: string } }>('/apis/validateCitizen/:id', async (request, reply) => {
    const { id } = request.params;
    if (!/^\d+$/.test(id)) return reply.code(501).send('Invalid citizen id');
    const with_ = registration(id);
    if (!with_) return reply.code(204).send();
    const sentence = `El ciudadano con id: ${id} se encuentra registrado en el operador ${with_.operatorName}`;
    return id.length % 2 === 0
      ? reply.type('application/json').send(JSON.stringify(sentence))
      : reply.type('text/plain').send(sentence);
  });

  app.put('/apis/authenticateDocument', async (request, reply) => {
    const parsed = authenticateBody.safeParse(request.body);
    if (!parsed.success) return reply.code(400).type('text/plain').send('Bad request');
    if (/invalid|forged|rejected/i.test(parsed.data.UrlDocument)) return reply.code(204).send();
    return reply
      .type('text/plain')
      .send(`El documento ${parsed.data.documentTitle} ha sido autenticado exitosamente`);
  });

  app.post('/apis/registerCitizen', async (request, reply) => {
    const parsed = registerBody.safeParse(request.body);
    if (!parsed.success) return reply.code(500).type('text/plain').send('Error registrando');
    const id = String(parsed.data.id);
    if (registration(id)) {
      return reply.code(501).type('text/plain').send('El ciudadano ya se encuentra registrado');
    }
    registered.set(id, {
      operatorId: parsed.data.operatorId,
      operatorName: parsed.data.operatorName.trim(),
    });
    freed.delete(id);
    return reply.code(201).type('text/plain').send('Ciudadano registrado exitosamente');
  });

  app.delete('/apis/unregisterCitizen', async (request, reply) => {
    const parsed = unregisterBody.safeParse(request.body);
    if (!parsed.success) return reply.code(500).type('text/plain').send('Error');
    const id = String(parsed.data.id);
    const was = registration(id);
    registered.delete(id);
    freed.add(id);
    // 201 when it was there, 204 when it was not (the real hub says 204 for both at times).
    return was
      ? reply.code(201).type('text/plain').send('Ciudadano desregistrado')
      : reply.code(204).send();
  });

  app.get('/apis/getOperators', async () => directory);

  app.post('/apis/registerOperator', async (request, reply) => {
    const parsed = operatorBody.safeParse(request.body);
    const name = parsed.data?.name ?? parsed.data?.nameOperator;
    if (!parsed.success || !name) return reply.code(500).type('text/plain').send('Error');
    const id = randomBytes(12).toString('hex');
    directory.push({
      _id: id,
      operatorName: name,
      address: parsed.data.address ?? parsed.data.adress ?? '',
      contactMail: parsed.data.contactMail,
      participants: parsed.data.participants ?? [],
    });
    return reply.code(201).type('application/json').send(JSON.stringify(id));
  });

  app.put('/apis/registerTransferEndPoint', async (request, reply) => {
    const parsed = endpointsBody.safeParse(request.body);
    if (!parsed.success) return reply.code(500).type('text/plain').send('Error');
    const entry = directory.find(
      (o) => o._id === parsed.data.idOperator || o.OperatorId === parsed.data.idOperator,
    );
    if (!entry) return reply.code(501).type('text/plain').send('Operador no encontrado');
    entry.transferAPIURL = parsed.data.endPoint;
    entry.transferAPIURLConfirm = parsed.data.endPointConfirm;
    return reply.code(201).type('text/plain').send('Endpoints registrados');
  });

  app.put('/__sim/faults', async (request, reply) => {
    const parsed = faultsRequest.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ errors: parsed.error.issues });
    const { endpoint, ...f } = parsed.data;
    if (endpoint) endpointFaults.set(endpoint, f);
    else faults = f;
    return { faults, endpoints: Object.fromEntries(endpointFaults) };
  });
  app.delete('/__sim/faults', async (_request, reply) => {
    faults = { ...NO_FAULTS };
    endpointFaults.clear();
    return reply.code(204).send();
  });
  app.get('/__sim/stats', async () => ({
    calls,
    faults,
    endpoints: Object.fromEntries(endpointFaults),
    citizensRegistered: registered.size,
  }));

  return {
    app,
    calls,
    registration,
    directory,
    setFaults: (f, endpoint) => {
      if (endpoint) {
        endpointFaults.set(endpoint, faultsSchema.parse({ ...endpointFaults.get(endpoint), ...f }));
      } else {
        faults = faultsSchema.parse({ ...faults, ...f });
      }
    },
    resetFaults: () => {
      faults = { ...NO_FAULTS };
      endpointFaults.clear();
    },
  };
}
