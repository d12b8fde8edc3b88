import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { request } from 'undici';
import { z } from 'zod';
import { type HubSimulator, SIMULATED_OPERATOR } from './simulator.js';

/**
 * A stand-in for another operator, for development and tests only (like the hub simulator, and
 * listed in its directory): it takes citizens sent to it, registers them at the hub under its own
 * name and confirms after a short delay, and it can send a citizen to us. Told by
 * `PUT /__peer/mode` to refuse (400), to confirm `req_status: 0`, to never confirm (`silent`), or
 * to be down (503). docs/hub-simulator.md says how to drive it.
 */

export const PEER_MODES = ['accept', 'refuse', 'confirm0', 'silent', 'down'] as const;
export type PeerMode = (typeof PEER_MODES)[number];

const modeBody = z.strictObject({
  mode: z.enum(PEER_MODES).optional(),
  confirmDelayMs: z.number().int().min(0).max(600_000).optional(),
});

const sendBody = z.strictObject({
  citizen_id: z.string().regex(/^\d{6,12}$/),
  citizen_name: z.string().min(1).default('Ciudadano Trasladado'),
  citizen_email: z.string().min(3).default('ciudadano@example.org'),
  documents: z.record(z.string(), z.array(z.string())).default({}),
  /** Where to send it: an operator's transfer URL (ours: `<PUBLIC_BASE_URL>/api/transferCitizen`). */
  to_url: z.url(),
});

const received = z.looseObject({
  id: z.union([z.number(), z.string()]),
  confirmAPI: z.string().optional(),
  confirmationURL: z.string().optional(),
  callbackUrl: z.string().optional(),
});

export interface PeerSimulator {
  app: FastifyInstance;
  /** Set once it listens: its base URL. */
  baseUrl: string;
  /** What it was sent, by citizen id (its last body). */
  received: Map<string, Record<string, unknown>>;
  /** POSTs to its transferCitizen, answered or refused, by citizen id. */
  deliveries: Map<string, number>;
  /** Confirmations it received (for citizens it sent) and sent (for those it took). */
  confirmations: { direction: 'in' | 'out'; id: string; req_status: number; status?: number }[];
  setMode(mode: PeerMode, confirmDelayMs?: number): void;
  /** Sends a citizen the way an origin does: unregisters it at the hub, then POSTs it. */
  send(input: z.input<typeof sendBody>): Promise<{ status: number; body: string }>;
}

export interface PeerSimulatorOptions extends Pick<FastifyServerOptions, 'logger'> {
  hubUrl: string;
  operator: { id: string; name: string };
}

export function buildPeerSimulator(o: PeerSimulatorOptions): PeerSimulator {
  const app = Fastify({ logger: o.logger ?? false, forceCloseConnections: true });
  let mode: PeerMode = 'accept';
  let confirmDelayMs = 50;
  const sim: PeerSimulator = {
    app,
    baseUrl: '',
    received: new Map(),
    deliveries: new Map(),
    confirmations: [],
    setMode(m, delay) {
      mode = m;
      if (delay !== undefined) confirmDelayMs = delay;
    },
    send: async (input) => {
      const body = sendBody.parse(input);
      await postJson(`${o.hubUrl}/apis/unregisterCitizen`, 'DELETE', {
        id: Number(body.citizen_id),
        operatorId: o.operator.id,
        operatorName: o.operator.name,
      });
      return postJson(body.to_url, 'POST', {
        id: Number(body.citizen_id),
        citizenName: body.citizen_name,
        citizenEmail: body.citizen_email,
        urlDocuments: body.documents,
        confirmAPI: `${sim.baseUrl}/api/transferCitizenConfirm`,
      });
    },
  };

  /** Registers the citizen at the hub as this operator, then tells the origin. */
  const settle = async (id: string, confirmUrl: string) => {
    await new Promise((r) => setTimeout(r, confirmDelayMs));
    if (mode === 'silent') return;
    let reqStatus = 0;
    if (mode !== 'confirm0') {
      const registered = await postJson(`${o.hubUrl}/apis/registerCitizen`, 'POST', {
        id: Number(id),
        name: 'Ciudadano Trasladado',
        address: 'Sin dirección',
        email: 'ciudadano@example.org',
        operatorId: o.operator.id,
        operatorName: o.operator.name,
      });
      reqStatus = registered.status === 201 ? 1 : 0;
    }
    const answer = await postJson(confirmUrl, 'POST', { id: Number(id), req_status: reqStatus });
    sim.confirmations.push({ direction: 'out', id, req_status: reqStatus, status: answer.status });
  };

  app.post('/api/transferCitizen', async (req, reply) => {
    const key = String((req.body as { id?: unknown } | undefined)?.id ?? '');
    sim.deliveries.set(key, (sim.deliveries.get(key) ?? 0) + 1);
    if (mode === 'down') return reply.code(503).send({ error: 'down for maintenance' });
    if (mode === 'refuse') return reply.code(400).send({ error: 'we do not take this citizen' });
    const parsed = received.safeParse(req.body);
    const confirmUrl =
      parsed.data?.confirmAPI ?? parsed.data?.confirmationURL ?? parsed.data?.callbackUrl;
    if (!parsed.success || !confirmUrl) return reply.code(400).send({ error: 'bad body' });
    const id = String(parsed.data.id);
    const first = !sim.received.has(id);
    sim.received.set(id, parsed.data);
    if (first) void settle(id, confirmUrl).catch(() => {});
    return reply.code(202).send({ received: true });
  });

  app.post('/api/transferCitizenConfirm', async (req, reply) => {
    const body = req.body as { id?: unknown; req_status?: unknown } | undefined;
    if (body?.id === undefined || body.req_status === undefined) {
      return reply.code(400).send({ error: 'bad body' });
    }
    sim.confirmations.push({
      direction: 'in',
      id: String(body.id),
      req_status: Number(body.req_status),
    });
    return { received: true };
  });

  app.put('/__peer/mode', async (req, reply) => {
    const parsed = modeBody.safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ errors: parsed.error.issues });
    sim.setMode(parsed.data.mode ?? mode, parsed.data.confirmDelayMs);
    return { mode, confirmDelayMs };
  });
  app.post('/__peer/send', async (req, reply) => {
    const parsed = sendBody.safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ errors: parsed.error.issues });
    return sim.send(parsed.data);
  });
  app.get('/__peer/state', async () => ({
    mode,
    confirmDelayMs,
    received: [...sim.received.keys()],
    confirmations: sim.confirmations,
  }));
  app.addHook('onListen', async () => {
    const address = app.server.address();
    if (address && typeof address === 'object') sim.baseUrl = `http://127.0.0.1:${address.port}`;
  });
  return sim;
}

async function postJson(
  url: string,
  method: 'POST' | 'DELETE',
  body: unknown,
): Promise<{ status: number; body: string }> {
  try {
    const res = await request(url, {
      method,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.statusCode, body: (await res.body.text()).slice(0, 500) };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

/**
 * The hub simulator's own peer: "Operador Ciudadano" (the operator of the ids the simulator
 * knows), listening on `listen` and listed in `hub`'s directory with its transfer URL (after a
 * stray space, as real entries have). Used by the embedded defaults and `npm run hub:sim`.
 */
export async function startPeerBeside(
  hub: HubSimulator,
  hubUrl: string,
  listen: { host: string; port: number },
  logger?: FastifyServerOptions['logger'],
): Promise<PeerSimulator> {
  const peer = buildPeerSimulator({ hubUrl, operator: SIMULATED_OPERATOR, logger });
  await peer.app.listen(listen);
  const entry = hub.directory.find((o) => o._id === SIMULATED_OPERATOR.id);
  if (entry) entry.transferAPIURL = ` ${peer.baseUrl}/api/transferCitizen`;
  return peer;
}
