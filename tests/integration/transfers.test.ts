import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { outbox } from '../../src/messaging/outbox.table.js';
import { transferSteps, transfers } from '../../src/transfers/transfers.table.js';
import { freePort } from '../../tools/shared/net.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { startPeer } from '../helpers/peer.js';
import { expectProblem } from '../helpers/problem.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;
type Peer = Awaited<ReturnType<typeof startPeer>>;

const US = { OPERATOR_ID: 'op-test-us', OPERATOR_NAME: 'Operador de Pruebas' };
/** Fast budgets: every retry and give-up happens within a second or two. */
const FAST = {
  transfers: {
    pollMs: 50,
    retryBaseSeconds: 0.05,
    retryMaxSeconds: 0.2,
    sendBudgetSeconds: 0.6,
    freeWaitSeconds: 0.6,
    hubBudgetSeconds: 0.6,
    callbackBudgetSeconds: 0.6,
    documentsTimeoutSeconds: 60,
    peerTimeoutMs: 1000,
  },
  hub: { retries: 0, breaker: { minCalls: 1000 } },
};

withServices('transfers between operators', () => {
  let hub: Hub;
  let peer: Peer;
  let app: App;
  let base: string;
  let operator: string;
  let auditor: string;

  const person = { citizen_name: 'Ana María Pérez', citizen_email: 'ana.perez@example.org' };
  const documents = [
    { title: 'Diploma', url: 'https://files.example.org/diploma.pdf' },
    { title: 'Diploma', url: 'https://files.example.org/diploma-2.pdf' },
    { title: 'Cedula', url: 'https://files.example.org/cedula.pdf' },
  ];

  /** A citizen registered with us (through our API, so the hub and our record agree). */
  async function ours(): Promise<string> {
    const id = citizenId('eligible');
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/citizens',
      headers: bearer(operator),
      payload: {
        citizen_id: id,
        name: person.citizen_name,
        address: 'Calle 1',
        email: person.citizen_email,
      },
    });
    expect(res.statusCode).toBe(201);
    return id;
  }
  const start = (body: object, token = operator) =>
    app.inject({ method: 'POST', url: '/api/v1/transfers', headers: bearer(token), payload: body });
  const send = (id: string, to = peer.operator.id) =>
    start({ citizen_id: id, destination_operator_id: to, ...person, documents });
  const get = async (transferId: string) =>
    (
      await app.inject({
        method: 'GET',
        url: `/api/v1/transfers/${transferId}`,
        headers: bearer(auditor),
      })
    ).json();
  const ended = async (transferId: string) => {
    let view: any;
    await eventually(async () => {
      view = await get(transferId);
      return view.status !== 'IN_PROGRESS';
    }, 10_000);
    return view;
  };
  /** Registers a citizen with the peer at the hub, as the peer would. */
  const registerWithPeer = (id: string) =>
    fetch(`${hub.url}/apis/registerCitizen`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: Number(id),
        name: 'x',
        address: 'x',
        email: 'x@example.org',
        operatorId: peer.operator.id,
        operatorName: peer.operator.name,
      }),
    });
  const events = async (key: string, match: (p: any) => boolean) =>
    (await app.db.select().from(outbox).where(eq(outbox.routingKey, key))).filter((e) =>
      match(e.payload),
    );

  beforeAll(async () => {
    hub = await startHub();
    peer = await startPeer(hub);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await buildTestApp(
      {
        GOVCARPETA_URL: hub.url,
        HUB_TIMEOUT_MS: '500',
        ...US,
        PUBLIC_BASE_URL: base,
        PEER_ALLOWED_HOSTS: peer.hostPort,
      },
      { tuning: FAST },
    );
    await app.listen({ host: '127.0.0.1', port });
    operator = (await login(app, await createUser(app, ['operator']))).access_token;
    auditor = (await login(app, await createUser(app, ['auditor']))).access_token;
  });
  afterAll(async () => {
    await app?.close();
    await peer?.app.close();
    await hub?.close();
  });
  beforeEach(() => {
    hub.resetFaults();
    peer.setMode('accept', 30);
  });

  describe('out: sending a citizen to another operator', () => {
    it('happy path: verified, unregistered, sent in the convention shape, confirmed, announced', async () => {
      const id = await ours();
      const res = await send(id);
      expect(res.statusCode).toBe(202);
      const { transfer_id, status } = res.json();
      expect(status).toBe('IN_PROGRESS');

      const view = await ended(transfer_id);
      expect(view).toMatchObject({
        status: 'COMPLETED',
        step: 'DONE',
        req_status: 1,
        direction: 'OUT',
      });
      expect(view.steps.map((s: any) => `${s.step}:${s.outcome}`)).toEqual([
        'VERIFY:started',
        'VERIFY:done',
        'UNREGISTER:done',
        'SEND:done',
        'AWAIT_CONFIRMATION:received',
        'AWAIT_CONFIRMATION:done',
      ]);
      expect(hub.registration(id)?.operatorId).toBe(peer.operator.id);
      expect(peer.received.get(id)).toEqual({
        id: Number(id),
        citizenName: person.citizen_name,
        citizenEmail: person.citizen_email,
        urlDocuments: {
          Diploma: [documents[0]?.url, documents[1]?.url],
          Cedula: [documents[2]?.url],
        },
        confirmAPI: `${base}/api/transferCitizenConfirm`,
      });
      const purge = await events('user.transferred', (p) => p.idCitizen === Number(id));
      expect(purge.map((e) => e.exchange ?? 'ours').sort()).toEqual(['', 'ours']);
      const completed = await events('transfer.completed', (p) => p.transfer_id === transfer_id);
      expect(completed).toHaveLength(1);
      expect(completed[0]?.payload).toMatchObject({ direction: 'OUT', reconciled: false });
      // Our record and audit say it left.
      const record = await app.inject({
        method: 'GET',
        url: `/api/v1/citizens/${id}`,
        headers: bearer(auditor),
      });
      expect(record.json().status).toBe('UNREGISTERED');
    });

    it.each([
      ['refuse', /refused the citizen \(400/],
      ['confirm0', /req_status 0/],
      ['down', /could not be reached/],
    ] as const)('%s: ends FAILED with the citizen registered with us again', async (mode, why) => {
      peer.setMode(mode, 10);
      const id = await ours();
      const { transfer_id } = (await send(id)).json();
      const view = await ended(transfer_id);
      expect(view.status).toBe('FAILED');
      expect(view.reason).toMatch(why);
      expect(view.reason).toMatch(/registered with this operator again/);
      expect(hub.registration(id)?.operatorId).toBe(US.OPERATOR_ID);
      expect(view.steps.map((s: any) => s.step)).toContain('REGISTER_BACK');
      const failed = await events('transfer.failed', (p) => p.transfer_id === transfer_id);
      expect(failed).toHaveLength(1);
      expect(await events('user.transferred', (p) => p.idCitizen === Number(id))).toHaveLength(0);
    });

    /** Moves a transfer waiting for its confirmation past TRANSFER_CONFIRM_TIMEOUT_SECONDS. */
    async function pastTimeout(transferId: string) {
      await eventually(async () => (await get(transferId)).step === 'AWAIT_CONFIRMATION');
      await app.db
        .update(transfers)
        .set({ stepSince: sql`now() - interval '5 hours'`, dueAt: sql`now()` })
        .where(eq(transfers.id, transferId));
      app.transferRunner?.kick();
    }

    it('no confirmation in time, the hub shows the citizen free: registered back, FAILED', async () => {
      peer.setMode('silent');
      const id = await ours();
      const { transfer_id } = (await send(id)).json();
      await pastTimeout(transfer_id);
      const view = await ended(transfer_id);
      expect(view.status).toBe('FAILED');
      expect(view.steps.map((s: any) => s.step)).toEqual(
        expect.arrayContaining(['RECONCILE', 'REGISTER_BACK']),
      );
      expect(hub.registration(id)?.operatorId).toBe(US.OPERATOR_ID);
    });

    it('no confirmation in time, the hub shows the citizen with the destination: COMPLETED, reconciled', async () => {
      peer.setMode('silent');
      const id = await ours();
      const { transfer_id } = (await send(id)).json();
      await eventually(async () => (await get(transfer_id)).step === 'AWAIT_CONFIRMATION');
      await registerWithPeer(id);
      await pastTimeout(transfer_id);
      const view = await ended(transfer_id);
      expect(view.status).toBe('COMPLETED');
      expect(view.reason).toMatch(
        /no confirmation, but the hub shows the citizen with another operator/,
      );
      const completed = await events('transfer.completed', (p) => p.transfer_id === transfer_id);
      expect(completed[0]?.payload).toMatchObject({ reconciled: true });
    });

    it('a forged req_status 1 is not believed while the hub shows the citizen free', async () => {
      peer.setMode('silent');
      const id = await ours();
      const { transfer_id } = (await send(id)).json();
      await eventually(async () => (await get(transfer_id)).step === 'AWAIT_CONFIRMATION');
      const confirm = await fetch(`${base}/api/transferCitizenConfirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: String(id), req_status: 1 }),
      });
      expect(confirm.status).toBe(200);
      const view = await ended(transfer_id);
      expect(view.status).toBe('FAILED');
      expect(view.reason).toMatch(/req_status 1, but the hub showed the citizen free/);
      expect(hub.registration(id)?.operatorId).toBe(US.OPERATOR_ID);
    });

    it('a citizen the hub does not show with us: FAILED at VERIFY, nothing changed', async () => {
      const id = citizenId('affiliated'); // the simulator has it with another operator
      const { transfer_id } = (await send(id)).json();
      const view = await ended(transfer_id);
      expect(view).toMatchObject({ status: 'FAILED', step: 'DONE' });
      expect(view.reason).toMatch(/does not show the citizen registered with this operator/);
      expect(view.steps.map((s: any) => s.step)).toEqual(['VERIFY', 'VERIFY']);
      expect(peer.received.has(id)).toBe(false);
    });

    it('an Idempotency-Key replays the answer: one transfer', async () => {
      peer.setMode('silent');
      const id = await ours();
      const body = { citizen_id: id, destination_operator_id: peer.operator.id, ...person };
      const headers = { ...bearer(operator), 'idempotency-key': `transfer-${id}` };
      const first = await app.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers,
        payload: body,
      });
      const again = await app.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers,
        payload: body,
      });
      expect(first.statusCode).toBe(202);
      expect(again.statusCode).toBe(202);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().transfer_id).toBe(first.json().transfer_id);
      const rows = await app.db.select().from(transfers).where(eq(transfers.citizenId, id));
      expect(rows).toHaveLength(1);
    });

    it('422 for an unknown destination or one with no transfer URL; 409 while one is in progress', async () => {
      const id = await ours();
      expectProblem(await send(id, 'no-such-operator'), 422, 'UNKNOWN_OPERATOR');
      const noUrl = await send(id, '66ca18cd66ca9f0015a8afb4');
      expect(expectProblem(noUrl, 422, 'UNKNOWN_OPERATOR').detail).toMatch(/no transfer URL/);
      expectProblem(await send(id, US.OPERATOR_ID), 422, 'UNKNOWN_OPERATOR');
      peer.setMode('silent');
      expect((await send(id)).statusCode).toBe(202);
      expectProblem(await send(id), 409, 'TRANSFER_IN_PROGRESS');
    });

    it('a destination URL that is not on the allow list and resolves nowhere public is refused', async () => {
      hub.directory.push({
        _id: 'op-private',
        operatorName: 'Operador Interno',
        transferAPIURL: 'http://10.1.2.3/api/transferCitizen',
      });
      await app.directory.list({ fresh: true });
      const id = await ours();
      const res = await send(id, 'op-private');
      expect(expectProblem(res, 422, 'PEER_URL_REFUSED').detail).toMatch(
        /10\.1\.2\.3 is a private address/,
      );
    });

    it('validation: 400 naming the field; documents capped; roles', async () => {
      const bad = await start({ citizen_id: '12', destination_operator_id: 'x', ...person });
      expect(expectProblem(bad, 400).errors.map((e: any) => e.field)).toContain('body.citizen_id');
      const many = Array.from({ length: 51 }, (_, i) => ({
        title: `d${i}`,
        url: `https://x.example.org/${i}`,
      }));
      const tooMany = await start({
        citizen_id: '1234567890',
        destination_operator_id: 'x',
        ...person,
        documents: many,
      });
      expect(expectProblem(tooMany, 400).errors.map((e: any) => e.field)).toContain(
        'body.documents',
      );
      expectProblem(await start({}, auditor), 403, 'FORBIDDEN');
    });
  });

  describe('in: receiving a citizen from another operator', () => {
    /** A citizen registered with the peer at the hub, sent to us by the peer. */
    async function arriving(body: Record<string, unknown> = {}) {
      const id = citizenId('eligible');
      const reg = await registerWithPeer(id);
      expect(reg.status).toBe(201);
      const sent = await peer.send({
        citizen_id: id,
        to_url: `${base}/api/transferCitizen`,
        documents: { Diploma: ['https://files.example.org/d.pdf'] },
        ...body,
      });
      return { id, sent };
    }
    const receive = (body: unknown) =>
      app.inject({ method: 'POST', url: '/api/transferCitizen', payload: body as object });

    it('happy path: 202 at once, announced, registered with us, the origin told req_status 1', async () => {
      const { id, sent } = await arriving();
      expect(sent.status).toBe(202);
      const { transfer_id, received } = JSON.parse(sent.body);
      expect(received).toBe(true);
      const view = await ended(transfer_id);
      expect(view).toMatchObject({ status: 'COMPLETED', direction: 'IN', req_status: 1 });
      expect(view.peer_operator_id).toBe(peer.operator.id);
      expect(view.steps.map((s: any) => s.step)).toEqual([
        'CHECK_FREE',
        'CHECK_FREE',
        'REGISTER',
        'CALLBACK',
      ]);
      expect(hub.registration(id)?.operatorId).toBe(US.OPERATOR_ID);
      expect(peer.confirmations).toContainEqual({ direction: 'in', id, req_status: 1 });
      const announced = await events(
        'transfer.citizen.received',
        (p) => p.transfer_id === transfer_id,
      );
      expect(announced[0]?.payload).toEqual({
        transfer_id,
        idCitizen: Number(id),
        citizenName: 'Ciudadano Trasladado',
        citizenEmail: 'ciudadano@example.org',
        documents: [{ title: 'Diploma', url: 'https://files.example.org/d.pdf' }],
      });
    });

    it('a repeat while in progress answers the same transfer and starts nothing; a citizen of ours is 409', async () => {
      const id = citizenId('affiliated'); // stays with its operator: the transfer waits at CHECK_FREE
      const body = {
        id: Number(id),
        citizenName: 'Luis',
        citizenEmail: 'luis@example.org',
        urlDocuments: {},
        confirmAPI: `${peer.baseUrl}/api/transferCitizenConfirm`,
      };
      const first = await receive(body);
      const again = await receive({ ...body, id: String(id) });
      expect(first.statusCode).toBe(202);
      expect(again.json().transfer_id).toBe(first.json().transfer_id);
      const rows = await app.db.select().from(transfers).where(eq(transfers.citizenId, id));
      expect(rows).toHaveLength(1);
      // It gives up after the free-wait budget and tells the origin 0.
      const view = await ended(first.json().transfer_id);
      expect(view.status).toBe('FAILED');
      expect(view.reason).toMatch(/still shows the citizen with another operator/);
      await eventually(() => peer.confirmations.some((c) => c.id === id && c.req_status === 0));

      const mine = await ours();
      expectProblem(await receive({ ...body, id: mine }), 409, 'CITIZEN_IS_OURS');
    });

    it.each([
      [
        'urlDocuments {title: [url]}',
        { urlDocuments: { A: ['https://f.example.org/a', 'https://f.example.org/b'] } },
        2,
      ],
      ['urlDocuments {title: url}', { urlDocuments: { A: 'https://f.example.org/a' } }, 1],
      [
        'urlDocuments [url]',
        { urlDocuments: ['https://f.example.org/a', 'https://f.example.org/b'] },
        2,
      ],
      ['Documents', { Documents: { A: ['https://f.example.org/a'] } }, 1],
      ['no documents', {}, 0],
    ])('accepts %s', async (_name, docs, count) => {
      const id = citizenId('affiliated');
      const res = await receive({
        id: String(id),
        citizenName: 'Luis',
        citizenEmail: 'luis@example.org',
        callbackUrl: `${peer.baseUrl}/api/transferCitizenConfirm`,
        extraFieldFromAnotherCohort: true,
        ...docs,
      });
      expect(res.statusCode).toBe(202);
      const view = await get(res.json().transfer_id);
      expect(view.documents).toHaveLength(count);
    });

    it.each([
      ['id', { id: 'abc' }],
      ['id', { id: 12 }],
      ['citizenEmail', { citizenEmail: 'not-an-email' }],
      ['citizenName', { citizenName: '' }],
      ['confirmAPI', { confirmAPI: undefined }],
      ['confirmAPI', { confirmAPI: 'ftp://peer.example.org/confirm' }],
      ['urlDocuments', { urlDocuments: { A: ['javascript:alert(1)'] } }],
      ['urlDocuments', { urlDocuments: { A: [`https://f.example.org/${'x'.repeat(2100)}`] } }],
      [
        'urlDocuments',
        {
          urlDocuments: Object.fromEntries(
            Array.from({ length: 51 }, (_, i) => [`d${i}`, `https://f.example.org/${i}`]),
          ),
        },
      ],
    ])('400 naming %s', async (field, change) => {
      const res = await receive({
        id: '1234567890',
        citizenName: 'Luis',
        citizenEmail: 'luis@example.org',
        confirmAPI: `${peer.baseUrl}/api/transferCitizenConfirm`,
        ...change,
      });
      const problem = expectProblem(res, 400);
      expect(
        problem.errors.map((e: any) => e.field.replace(/^body\./, '').split('.')[0]),
      ).toContain(field);
    });

    it('a callback URL it will not call: 422, recorded as a failed transfer', async () => {
      const id = citizenId('eligible');
      const res = await receive({
        id,
        citizenName: 'Luis',
        citizenEmail: 'luis@example.org',
        confirmAPI: 'http://169.254.169.254/latest/meta-data',
      });
      expectProblem(res, 422, 'PEER_URL_REFUSED');
      const [row] = await app.db.select().from(transfers).where(eq(transfers.citizenId, id));
      expect(row).toMatchObject({ status: 'FAILED', direction: 'IN' });
    });
  });

  describe('confirmations', () => {
    it('404 when no transfer waits for it; a repeat is 200 with no effect; malformed is 400', async () => {
      const confirm = (body: object) =>
        app.inject({ method: 'POST', url: '/api/transferCitizenConfirm', payload: body });
      expectProblem(await confirm({ id: citizenId('eligible'), req_status: 1 }), 404, 'NOT_FOUND');
      expectProblem(await confirm({ id: '1234567890', req_status: 2 }), 400);
      expectProblem(await confirm({ req_status: 1 }), 400);

      peer.setMode('silent');
      const id = await ours();
      const { transfer_id } = (await send(id)).json();
      await eventually(async () => (await get(transfer_id)).step === 'AWAIT_CONFIRMATION');
      expect((await confirm({ id, req_status: 0 })).statusCode).toBe(200);
      expect((await confirm({ id, req_status: 1 })).statusCode).toBe(200);
      const view = await ended(transfer_id);
      expect(view.status).toBe('FAILED'); // the first answer (0) counted, once
      const received = view.steps.filter((s: any) => s.outcome === 'received');
      expect(received).toHaveLength(1);
      expect((await confirm({ id, req_status: 1 })).statusCode).toBe(200);
    });
  });

  describe('durability: crashes and replicas', () => {
    it('killed between every pair of steps, each resumes where it stopped and asks nothing twice', async () => {
      await app.transferRunner?.stop();
      try {
        peer.setMode('accept', 0);
        const id = await ours();
        const calls = () => ({
          validate: hub.calls.validateCitizen ?? 0,
          unregister: hub.calls.unregisterCitizen ?? 0,
          sent: peer.received.has(id) ? 1 : 0,
        });
        const { transfer_id } = (await send(id)).json();
        const before = calls();
        // Every step by a new runner ("process"); the effect of a step is made once more by a
        // runner that dies before recording it, then its claim lapses and another resumes.
        for (let i = 0; i < 10; i++) {
          const [row] = await app.db.select().from(transfers).where(eq(transfers.id, transfer_id));
          if (row?.status !== 'IN_PROGRESS') break;
          if (row.step === 'UNREGISTER') {
            // The dying process: it made the hub call, never recorded the step.
            const runner = app.transferRunner as NonNullable<App['transferRunner']>;
            await runner.replica().runStepUnrecorded(row);
          }
          await app.db
            .update(transfers)
            .set({ dueAt: sql`now()` })
            .where(eq(transfers.id, transfer_id));
          expect(await app.transferRunner?.replica().runOnce()).toBeGreaterThanOrEqual(1);
          const [next] = await app.db.select().from(transfers).where(eq(transfers.id, transfer_id));
          expect(next?.step === row.step && next?.status === 'IN_PROGRESS').toBe(
            row.step === 'AWAIT_CONFIRMATION' && row.reqStatus === null,
          );
          if (row.step === 'SEND') {
            await eventually(() => peer.confirmations.some((c) => c.id === id));
          }
        }
        const view = await get(transfer_id);
        expect(view.status).toBe('COMPLETED');
        const after = calls();
        expect(after.unregister - before.unregister).toBe(1);
        expect(after.sent).toBe(1);
        // One history row per step: none ran twice.
        const done = view.steps.filter((s: any) => s.outcome === 'done').map((s: any) => s.step);
        expect(done).toEqual(['VERIFY', 'UNREGISTER', 'SEND', 'AWAIT_CONFIRMATION']);
      } finally {
        app.transferRunner?.start();
      }
    });

    it('two replicas never run one step twice', async () => {
      await app.transferRunner?.stop();
      try {
        peer.setMode('silent');
        const ids = await Promise.all(Array.from({ length: 6 }, () => ours()));
        const started = await Promise.all(
          ids.map(async (id) => (await send(id)).json().transfer_id),
        );
        const a = app.transferRunner?.replica('replica-a');
        const b = app.transferRunner?.replica('replica-b');
        for (let round = 0; round < 4; round++) {
          await Promise.all([a?.runOnce(), b?.runOnce(), a?.runOnce(), b?.runOnce()]);
        }
        for (const transferId of started) {
          const steps = await app.db
            .select()
            .from(transferSteps)
            .where(eq(transferSteps.transferId, transferId))
            .orderBy(transferSteps.at);
          const keys = steps.filter((s) => s.outcome === 'done').map((s) => s.step);
          expect(new Set(keys).size).toBe(keys.length);
          expect(keys).toEqual(['VERIFY', 'UNREGISTER', 'SEND']);
        }
      } finally {
        app.transferRunner?.start();
      }
    });
  });

  it("the peers' endpoints have a rate limit of their own, per source address", async () => {
    const limited = await buildTestApp(
      { GOVCARPETA_URL: hub.url, ...US, PUBLIC_BASE_URL: base, RATE_LIMIT_MAX: '0' },
      { tuning: { transfers: { peerRateLimitMax: 3 } } },
    );
    try {
      const confirm = (ip: string) =>
        limited.inject({
          method: 'POST',
          url: '/api/transferCitizenConfirm',
          remoteAddress: ip,
          payload: { id: '1234567890', req_status: 1 },
        });
      for (let i = 0; i < 3; i++) expect((await confirm('203.0.113.7')).statusCode).toBe(404);
      const refused = await confirm('203.0.113.7');
      expectProblem(refused, 429, 'RATE_LIMITED');
      expect(refused.headers['retry-after']).toBeTruthy();
      expect((await confirm('203.0.113.8')).statusCode).toBe(404); // another address
      const api = await limited.inject({ url: '/api/v1/auth/me', remoteAddress: '203.0.113.7' });
      expect(api.statusCode).toBe(401); // the API's own limit (off here) is not this one
    } finally {
      await limited.close();
    }
  });

  it('lists transfers, filtered and paginated by cursor', async () => {
    const page1 = await app.inject({
      method: 'GET',
      url: '/api/v1/transfers?direction=OUT&limit=2',
      headers: bearer(auditor),
    });
    expect(page1.statusCode).toBe(200);
    const body = page1.json();
    expect(body.items).toHaveLength(2);
    expect(body.items.every((t: any) => t.direction === 'OUT')).toBe(true);
    const page2 = await app.inject({
      method: 'GET',
      url: `/api/v1/transfers?direction=OUT&limit=2&cursor=${body.next_cursor}`,
      headers: bearer(auditor),
    });
    const ids = new Set([...body.items, ...page2.json().items].map((t: any) => t.transfer_id));
    expect(ids.size).toBe(4);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/transfers_total\{direction="OUT",outcome="COMPLETED"\} [1-9]/);
    expect(metrics.body).toMatch(/transfers_in_progress\{direction="OUT"\} \d+/);
  });
});
