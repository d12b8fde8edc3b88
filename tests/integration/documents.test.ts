import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { documentAuthentications } from '../../src/documents/authentications.table.js';
import { outbox } from '../../src/messaging/outbox.table.js';
import {
  bearer,
  buildTestApp,
  captureLogs,
  createUser,
  type LogCapture,
  login,
  withServices,
} from '../helpers/app.js';
import { citizenId, startHub } from '../helpers/hub.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

const SIGNED_URL = 'https://bucket.example.org/diploma.pdf?X-Amz-Signature=TOPSECRET';

withServices('documents: authenticate and read back', () => {
  let hub: Hub;
  let app: App;
  let logs: LogCapture;
  let operator: string;
  let auditor: string;
  const authenticate = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/documents/authenticate',
      headers: { ...bearer(operator), ...headers },
      payload: body,
    });

  beforeAll(async () => {
    hub = await startHub();
    const { logger, capture } = captureLogs();
    logs = capture;
    app = await buildTestApp(
      { GOVCARPETA_URL: hub.url, HUB_TIMEOUT_MS: '300' },
      { loggerInstance: logger },
    );
    operator = (await login(app, await createUser(app, ['operator']))).access_token;
    auditor = (await login(app, await createUser(app, ['auditor']))).access_token;
  });
  afterAll(async () => {
    await app?.close();
    await hub?.close();
  });
  beforeEach(() => hub.resetFaults());

  it('answers VERIFIED for a document the hub authenticates, stores it and writes its event', async () => {
    const id = citizenId('eligible');
    const res = await authenticate({
      citizen_id: id,
      document_url: SIGNED_URL,
      document_title: ' Diploma ',
      document_id: 'doc-1',
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      citizen_id: id,
      document_id: 'doc-1',
      document_title: 'Diploma',
      authenticated: true,
      verification_status: 'VERIFIED',
      message: 'El documento Diploma ha sido autenticado exitosamente',
    });
    const read = await app.inject({
      url: `/api/v1/documents/authentications/${body.authentication_id}`,
      headers: bearer(auditor),
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(body);
    const [event] = await app.db
      .select()
      .from(outbox)
      .where(sql`${outbox.payload}->>'authentication_id' = ${body.authentication_id}`);
    expect(event?.routingKey).toBe('document.authenticated');
    expect(event?.payload).toEqual({
      event_type: 'document.authenticated',
      authentication_id: body.authentication_id,
      citizen_id: id,
      document_id: 'doc-1',
      authenticated: true,
      timestamp: body.authenticated_at,
    });
  });

  it('answers REJECTED when the hub says 204, and 503 with an ERROR record when it fails', async () => {
    const rejected = await authenticate({
      citizen_id: citizenId('eligible'),
      document_url: 'https://bucket.example.org/forged.pdf',
      document_title: 'Deed',
    });
    expect(rejected.json()).toMatchObject({
      authenticated: false,
      verification_status: 'REJECTED',
    });

    hub.setFaults({ failureRate: 1, failureStatus: 501 });
    const id = citizenId('eligible');
    const failed = await authenticate({
      citizen_id: id,
      document_url: SIGNED_URL,
      document_title: 'Deed',
    });
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBeDefined();
    expect(failed.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const rows = await app.db
      .select()
      .from(documentAuthentications)
      .where(eq(documentAuthentications.citizenId, id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'ERROR', authenticated: null, channel: 'http' });
    const events = await app.db
      .select()
      .from(outbox)
      .where(sql`${outbox.payload}->>'citizen_id' = ${id}`);
    expect(events).toEqual([]);
  });

  it('replays with the same Idempotency-Key, and refuses it with another body', async () => {
    const before = hub.calls.authenticateDocument ?? 0;
    const body = {
      citizen_id: citizenId('eligible'),
      document_url: SIGNED_URL,
      document_title: 'A',
    };
    const key = { 'idempotency-key': `doc-${body.citizen_id}` };
    const first = await authenticate(body, key);
    const again = await authenticate(body, key);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(hub.calls.authenticateDocument).toBe(before + 1);
    const other = await authenticate({ ...body, document_title: 'B' }, key);
    expect(other.statusCode).toBe(409);
  });

  it('never writes the document URL or a raw citizen id to logs or the database', async () => {
    const id = citizenId('affiliated');
    await authenticate({ citizen_id: id, document_url: SIGNED_URL, document_title: 'Diploma' });
    hub.setFaults({ failureRate: 1 });
    await authenticate({ citizen_id: id, document_url: SIGNED_URL, document_title: 'Diploma' });
    await app.inject({
      method: 'POST',
      url: '/api/v1/affiliation/check',
      headers: bearer(operator),
      payload: { citizen_id: id },
    });
    await app.inject({
      url: `/api/v1/affiliation/checks?citizen_id=${id}`,
      headers: bearer(auditor),
    });
    expect(logs.lines.length).toBeGreaterThan(3);
    expect(logs.text()).not.toContain('TOPSECRET');
    expect(logs.text()).not.toContain('bucket.example.org');
    expect(logs.text()).not.toContain(id);
    const stored = await app.db
      .select()
      .from(documentAuthentications)
      .where(eq(documentAuthentications.citizenId, id));
    expect(stored.length).toBeGreaterThan(0);
    expect(JSON.stringify(stored)).not.toContain('bucket.example.org');
  });

  it('validates input and answers 404 for an unknown record', async () => {
    const bad = await authenticate({
      citizen_id: '123',
      document_url: 'ftp://x/y',
      document_title: '',
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort(),
    ).toEqual(['body.citizen_id', 'body.document_title', 'body.document_url']);
    const missing = await app.inject({
      url: '/api/v1/documents/authentications/00000000-0000-4000-8000-000000000000',
      headers: bearer(auditor),
    });
    expect(missing.statusCode).toBe(404);
    const notUuid = await app.inject({
      url: '/api/v1/documents/authentications/nope',
      headers: bearer(auditor),
    });
    expect(notUuid.statusCode).toBe(400);
    const auditorCannot = await app.inject({
      method: 'POST',
      url: '/api/v1/documents/authenticate',
      headers: bearer(auditor),
      payload: {},
    });
    expect(auditorCannot.statusCode).toBe(403);
  });
});
