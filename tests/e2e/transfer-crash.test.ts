import { randomBytes } from 'node:crypto';
import { expect, inject, it, onTestFinished } from 'vitest';
import { createDatabase } from '../../db/client.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { insertUser } from '../../src/auth/users.repository.js';
import { withServices } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { startPeer } from '../helpers/peer.js';
import { freePort, runScript } from '../helpers/process.js';
import { eventually } from '../helpers/wait.js';

/**
 * The API process killed with SIGKILL while its transfers wait: one retrying its POST to a peer
 * that is down (after the citizen was unregistered), one waiting for its confirmation. A new
 * process carries both on from their recorded steps: the hub is not asked to unregister again,
 * and each ends with the citizen with its new operator.
 */
withServices('transfers survive SIGKILL', () => {
  it('a killed process resumes both transfers where they stopped, asking nothing twice', async () => {
    const db = await freshDatabase();
    const hub = await startHub();
    const peer = await startPeer(hub);
    const database = await createDatabase({ databaseUrl: db.url, dataDir: 'unused' });
    await insertUser(database.db, {
      username: 'transfers',
      passwordHash: await hashPassword('transfer-crash-password', { N: 2 ** 10, r: 8, p: 1 }),
      roles: ['operator'],
    });
    await database.close();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      REDIS_URL: inject('redisUrl') as string,
      REDIS_KEY_PREFIX: `ca:test:${inject('runId')}:transfer-crash:`,
      GOVCARPETA_URL: hub.url,
      OPERATOR_ID: 'op-crash-us',
      OPERATOR_NAME: 'Operador Que Cae',
      PUBLIC_BASE_URL: base,
      PEER_ALLOWED_HOSTS: peer.hostPort,
      JWT_SECRET: randomBytes(48).toString('base64url'),
      SECURITY_LOG_KEY: randomBytes(48).toString('base64url'),
    };
    const procs: ReturnType<typeof runScript>[] = [];
    onTestFinished(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await peer.app.close();
      await hub.close();
      await db.drop();
    });
    const start = async () => {
      const run = runScript('src/server.ts', [], env);
      procs.push(run);
      await run.waitFor(/Server listening/);
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'transfers', password: 'transfer-crash-password' }),
      });
      const token = ((await login.json()) as { access_token: string }).access_token;
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${base}/api/v1${path}`, {
          method,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      return { run, call };
    };

    const first = await start();
    const send = async (api: typeof first) => {
      const id = citizenId('eligible');
      const person = { name: 'Ana María Pérez', address: 'Calle 1', email: 'ana@example.org' };
      expect((await api.call('POST', '/citizens', { citizen_id: id, ...person })).status).toBe(201);
      const started = await api.call('POST', '/transfers', {
        citizen_id: id,
        destination_operator_id: peer.operator.id,
        citizen_name: person.name,
        citizen_email: person.email,
      });
      expect(started.status).toBe(202);
      return { id, transferId: String(started.body.transfer_id) };
    };
    const stepOf = async (api: typeof first, transferId: string) =>
      (await api.call('GET', `/transfers/${transferId}`)).body;

    // A: the peer is down, so A is unregistered and its SEND retries with backoff.
    peer.setMode('down');
    const a = await send(first);
    await eventually(async () => (peer.deliveries.get(a.id) ?? 0) >= 1);
    // B: the peer takes it and never confirms, so B waits for its confirmation.
    peer.setMode('silent');
    const b = await send(first);
    await eventually(async () => (await stepOf(first, b.transferId)).step === 'AWAIT_CONFIRMATION');
    expect((await stepOf(first, a.transferId)).step).toBe('SEND');
    const unregistered = hub.calls.unregisterCitizen;

    first.run.child.kill('SIGKILL');
    expect((await first.run.exited).signal).toBe('SIGKILL');

    peer.setMode('accept', 0);
    const second = await start();
    // B's confirmation arrives at the new process (the peer registered B meanwhile).
    await fetch(`${hub.url}/apis/registerCitizen`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: Number(b.id),
        name: 'x',
        address: 'x',
        email: 'x@example.org',
        operatorId: peer.operator.id,
        operatorName: peer.operator.name,
      }),
    });
    const confirm = await fetch(`${base}/api/transferCitizenConfirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: Number(b.id), req_status: 1 }),
    });
    expect(confirm.status).toBe(200);
    await eventually(async () => (await stepOf(second, b.transferId)).status === 'COMPLETED');
    // A's SEND comes due again (its backoff) and the peer, up now, takes and confirms it.
    await eventually(
      async () => (await stepOf(second, a.transferId)).status === 'COMPLETED',
      30_000,
    );
    expect(hub.calls.unregisterCitizen).toBe(unregistered); // neither asked again
    expect(hub.registration(a.id)?.operatorId).toBe(peer.operator.id);
    expect(hub.registration(b.id)?.operatorId).toBe(peer.operator.id);
    expect(peer.deliveries.get(b.id)).toBe(1);
    const done = (await stepOf(second, a.transferId)).steps
      .filter((s: { outcome: string }) => s.outcome === 'done')
      .map((s: { step: string }) => s.step);
    expect(done).toEqual(['VERIFY', 'UNREGISTER', 'SEND', 'AWAIT_CONFIRMATION']);
  }, 90_000);
});
