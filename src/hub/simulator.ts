import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { z } from 'zod';

/**
 * A stand-in for GovCarpeta, for development and tests only (production config refuses it).
 * It answers like the real hub, deterministically per citizen id, and injects faults on demand.
 *
 * - `GET /apis/validateCitizen/:id`: ids ending in an odd digit are registered with an operator
 *   (200, a sentence; JSON-quoted for even-length ids, plain text otherwise); even: 204.
 *   `registerCitizen` / `unregisterCitizen` change that for one id.
 * - `PUT /apis/authenticateDocument`: 200 (plain text) unless the URL contains `invalid`,
 *   `forged` or `rejected` (204); a malformed body answers 400.
 * - Faults (`PUT /__sim/faults`, `DELETE /__sim/faults`): latency, a failure rate with a status,
 *   and a rate of dropped connections, for every `/apis/*` call. `GET /__sim/stats` counts calls.
 */

export const faultsSchema = z.strictObject({
  latencyMs: z.number().int().min(0).max(120_000).default(0),
  failureRate: z.number().min(0).max(1).default(0),
  failureStatus: z.number().int().min(400).max(599).default(500),
  dropRate: z.number().min(0).max(1).default(0),
});
export type Faults = z.infer<typeof faultsSchema>;

/** The environment of `npm run hub:sim` (the simulator process has its own small config). */
export const simulatorEnvSchema = z.object({
  NODE_ENV: z.string().default('development'),
  HUB_SIM_HOST: z.string().min(1).default('127.0.0.1'),
  HUB_SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  LOG_LEVEL: z.string().default('info'),
});

const NO_FAULTS: Faults = faultsSchema.parse({});

const OPERATORS = [
  { _id: '66ca18cd66ca9f0015a8afb3', operatorName: 'Operador Ciudadano', transferAPIURL: '' },
  { OperatorId: '66ca18cd66ca9f0015a8afb4', OperatorName: 'Carpeta Segura', transferAPIURL: '' },
];

const authenticateBody = z.object({
  idCitizen: z.number().int().positive(),
  UrlDocument: z.url(),
  documentTitle: z.string().min(1),
});

export interface HubSimulator {
  app: FastifyInstance;
  /** Calls received per endpoint name (`validateCitizen`, `authenticateDocument`, ...). */
  calls: Record<string, number>;
  setFaults(faults: Partial<Faults>): void;
  resetFaults(): void;
}

export function buildHubSimulator(
  options: Pick<FastifyServerOptions, 'logger'> = {},
): HubSimulator {
  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
  const calls: Record<string, number> = {};
  const overrides = new Map<string, boolean>();
  let faults: Faults = { ...NO_FAULTS };

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/apis/')) return;
    const name = request.url.split('/')[2]?.split('?')[0] ?? 'unknown';
    calls[name] = (calls[name] ?? 0) + 1;
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (Math.random() < faults.dropRate) {
      request.raw.socket.destroy();
      return reply.hijack();
    }
    if (Math.random() < faults.failureRate) {
      return reply.code(faults.failureStatus).type('text/plain').send('Simulated hub failure');
    }
  });

  app.get<{ Params: { id: string } }>('/apis/validateCitizen/:id', async (request, reply) => {
    const { id } = request.params;
    if (!/^\d+$/.test(id)) return reply.code(501).send('Invalid citizen id');
    const registered = overrides.get(id) ?? Number(id.at(-1)) % 2 === 1;
    if (!registered) return reply.code(204).send();
    const sentence = `El ciudadano con id: ${id} se encuentra registrado en un operador`;
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
    const id = String((request.body as { id?: unknown } | undefined)?.id ?? '');
    if (!/^\d+$/.test(id)) return reply.code(500).send('Invalid citizen');
    if (overrides.get(id) ?? Number(id.at(-1)) % 2 === 1) {
      return reply.code(501).send('Ciudadano ya registrado');
    }
    overrides.set(id, true);
    return reply.code(201).send('Ciudadano registrado');
  });

  app.delete('/apis/unregisterCitizen', async (request, reply) => {
    const id = String((request.body as { id?: unknown } | undefined)?.id ?? '');
    if (!/^\d+$/.test(id)) return reply.code(500).send('Invalid citizen');
    overrides.set(id, false);
    return reply.code(204).send();
  });

  app.get('/apis/getOperators', async () => OPERATORS);

  app.put('/__sim/faults', async (request, reply) => {
    const parsed = faultsSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ errors: parsed.error.issues });
    faults = parsed.data;
    return faults;
  });
  app.delete('/__sim/faults', async (_request, reply) => {
    faults = { ...NO_FAULTS };
    return reply.code(204).send();
  });
  app.get('/__sim/stats', async () => ({ calls, faults }));

  return {
    app,
    calls,
    setFaults: (f) => {
      faults = faultsSchema.parse({ ...faults, ...f });
    },
    resetFaults: () => {
      faults = { ...NO_FAULTS };
    },
  };
}
