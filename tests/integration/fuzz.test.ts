import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { allows, type Permission } from '../../src/auth/roles.js';
import { ROLES, type Role } from '../../src/shared/enums.js';
import {
  bearer,
  buildTestApp,
  captureLogs,
  createUser,
  type LogCapture,
  login,
  TEST_SECRET,
  withServices,
} from '../helpers/app.js';
import { forgeToken } from '../helpers/jwt.js';
import { expectProblem } from '../helpers/problem.js';

/**
 * Hostile input against every route, thousands of cases per run (fast-check): random and
 * adversarial bodies, raw payloads, headers and tokens. Whatever comes in: never a 5xx, every
 * error is a well-formed problem, every log line stays one valid JSON line, and access is
 * granted exactly where the caller's roles allow.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => ({ numRuns: n * RUNS });

interface Route {
  method: 'GET' | 'POST';
  url: string;
  permission?: Permission;
}

const BODY_ROUTES: Route[] = [
  { method: 'POST', url: '/api/v1/affiliation/check', permission: 'affiliation:check' },
  { method: 'POST', url: '/api/v1/documents/authenticate', permission: 'documents:authenticate' },
  { method: 'POST', url: '/api/v1/auth/login' },
  { method: 'POST', url: '/api/v1/auth/refresh' },
  { method: 'POST', url: '/api/v1/citizens', permission: 'citizens:register' },
  { method: 'POST', url: '/api/v1/transfers', permission: 'transfers:start' },
  // The public endpoints of the transfer protocol: other operators call them with no token.
  { method: 'POST', url: '/api/transferCitizen' },
  { method: 'POST', url: '/api/transferCitizenConfirm' },
];

/** Routes with a body each accepts (a decision, when the content type is JSON). */
const ACCEPTED: [Route, string][] = [
  [BODY_ROUTES[0] as Route, JSON.stringify({ citizen_id: '1234567890' })],
  [
    BODY_ROUTES[1] as Route,
    JSON.stringify({
      citizen_id: '1234567890',
      document_url: 'https://files.example.org/a.pdf',
      document_title: 'Diploma',
    }),
  ],
];

const PROTECTED: Route[] = [
  BODY_ROUTES[0] as Route,
  BODY_ROUTES[1] as Route,
  { method: 'GET', url: '/api/v1/affiliation/checks', permission: 'history:read' },
  {
    method: 'GET',
    url: '/api/v1/documents/authentications/00000000-0000-4000-8000-000000000000',
    permission: 'history:read',
  },
  { method: 'GET', url: '/api/v1/auth/me' },
  BODY_ROUTES[4] as Route,
  { method: 'GET', url: '/api/v1/citizens/1234567890', permission: 'citizens:read' },
  { method: 'GET', url: '/api/v1/operators', permission: 'operators:read' },
  { method: 'GET', url: '/api/v1/operator/registration', permission: 'operator:register' },
  { method: 'GET', url: '/api/v1/transfers?direction=IN', permission: 'transfers:read' },
];

const NASTY = [
  "' OR 1=1; DROP TABLE affiliation_checks; --",
  '"; SELECT pg_sleep(10); --',
  '\r\n{"level":60,"msg":"forged log line"}\n',
  '\u0000\u0001\u001b[31m',
  '$' + '{jndi:ldap://example.org/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '\u202egnp.exe',
  '\uD800',
  '😀'.repeat(200),
  '1'.repeat(13),
  ' 123456 ',
  '12345678901234567890',
  '0x1F',
  '-1',
  'NaN',
  'https://files.example.org/doc.pdf',
  'javascript:alert(1)',
  'file:///etc/passwd',
  '__proto__',
  'constructor',
];

const hostileString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.stringMatching(/^\d{1,14}$/),
  fc.nat({ max: 3000 }).map((n) => 'x'.repeat(n)),
);

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'citizen_id',
  'document_type',
  'affiliation_type',
  'document_url',
  'document_title',
  'username',
  'password',
  'refresh_token',
  'name',
  'address',
  'email',
  'destination_operator_id',
  'documents',
  'id',
  'urlDocuments',
  'Documents',
  'confirmAPI',
  'callbackUrl',
  'req_status',
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -1, 1e308, [], {}),
);

/** JSON text written by hand, so it may repeat keys and use `__proto__` literally. */
const objectText = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), hostileString), hostileValue), {
    maxLength: 6,
  })
  .map(
    (entries) =>
      `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v ?? null)}`).join(',')}}`,
  );

/** Valid bodies with one field made hostile, so validation, not just parsing, is exercised. */
const nearlyValid = fc
  .tuple(
    fc.constantFrom(
      { citizen_id: '1234567890' },
      { citizen_id: '1234567891', document_type: 'CC', affiliation_type: 'SUBSIDIADO' },
      {
        citizen_id: '1234567890',
        document_url: 'https://files.example.org/a.pdf',
        document_title: 'Diploma',
      },
      { username: 'nobody', password: 'wrong' },
      { refresh_token: 'not-a-refresh-token' },
      { citizen_id: '1234567890', name: 'Ana', address: 'Calle 1', email: 'ana@example.org' },
      {
        citizen_id: '1234567890',
        destination_operator_id: '66ca18cd66ca9f0015a8afb3',
        citizen_name: 'Ana',
        citizen_email: 'ana@example.org',
        documents: [{ title: 'Diploma', url: 'https://files.example.org/a.pdf' }],
      },
      {
        id: 1234567891,
        citizenName: 'Luis',
        citizenEmail: 'luis@example.org',
        urlDocuments: { Diploma: ['https://files.example.org/a.pdf'] },
        confirmAPI: 'https://operador-ciudadano.example.org/api/transferCitizenConfirm',
      },
      { id: '1234567891', req_status: 1 },
    ),
    fc.constantFrom(...KEYS),
    hostileValue,
  )
  .map(([body, key, value]) => JSON.stringify({ ...body, [key]: value }));

const rawPayload = fc.oneof(
  objectText,
  nearlyValid,
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.nat({ max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.nat({ max: 5000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.constantFrom('{"citizen_id":"1234567890","citizen_id":"1234567891"}', '{', '[', 'null', ''),
  fc.nat({ max: 20_000 }).map((n) => JSON.stringify({ citizen_id: 'x'.repeat(n) })),
);

withServices('fuzz: hostile input never breaks the service or its access rules', () => {
  let app: App;
  let logs: LogCapture;
  const tokens = new Map<string, string>(); // role set → access token

  const roleKey = (roles: Role[]) => [...roles].sort().join('+') || '(none)';

  beforeAll(async () => {
    const { logger, capture } = captureLogs();
    logs = capture;
    app = await buildTestApp(
      { RATE_LIMIT_MAX: '0' },
      {
        loggerInstance: logger,
        tuning: {
          login: { maxFailures: 1000 },
          bodyLimitBytes: 16_384,
          transfers: { peerRateLimitMax: 0 },
        },
      },
    );
    // One login per role set: every subset of the four roles, the empty set included.
    for (let mask = 0; mask < 2 ** ROLES.length; mask++) {
      const roles = ROLES.filter((_, i) => mask & (1 << i));
      const user = await createUser(app, roles);
      tokens.set(roleKey(roles), (await login(app, user)).access_token);
    }
  }, 60_000);
  afterAll(() => app?.close());

  const expectWellFormed = (res: Awaited<ReturnType<App['inject']>>) => {
    expect(res.statusCode, res.body).toBeLessThan(500);
    expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    if (res.statusCode >= 400) expectProblem(res);
  };

  it('bodies: never a 5xx, always a problem body for errors', async () => {
    const admin = tokens.get('admin') as string;
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        // Mostly any route with any payload; now and then a route with a body it accepts, so
        // that decisions are reached however many routes and hostile keys there are.
        fc.oneof(
          { weight: 19, arbitrary: fc.tuple(fc.constantFrom(...BODY_ROUTES), rawPayload) },
          { weight: 1, arbitrary: fc.constantFrom(...ACCEPTED) },
        ),
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'),
        async ([route, payload], contentType) => {
          const res = await app.inject({
            method: route.method,
            url: route.url,
            headers: { 'content-type': contentType, ...bearer(admin) },
            payload,
          });
          expectWellFormed(res);
          statuses.add(res.statusCode);
          // A malformed body never reaches a decision.
          if (res.statusCode === 200 && route.permission) {
            expect(JSON.parse(payload)).toBeTypeOf('object');
          }
        },
      ),
      runs(1500),
    );
    // The generators reach every layer: parsing, size limit, content type, validation, decisions.
    for (const status of [400, 413, 415]) expect(statuses).toContain(status);
    // ...and decisions: a 200 (check, documents), 201 (citizens) or 202 (transfers).
    expect(
      [...statuses].some((s) => s >= 200 && s < 300),
      [...statuses].join(','),
    ).toBe(true);
  }, 300_000);

  it('headers: hostile ids, types and authorization values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PROTECTED),
        hostileString,
        fc.oneof(
          hostileString,
          hostileString.map((s) => `Bearer ${s}`),
          fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer x.y.z'),
        ),
        async (route, requestId, authorization) => {
          const res = await app.inject({
            method: route.method,
            url: route.url,
            headers: {
              'content-type': 'application/json',
              'x-request-id': requestId.replace(/[\r\n]/g, ''),
              'idempotency-key': requestId.slice(0, 100).replace(/[\r\n]/g, '') || 'k',
              authorization: authorization.replace(/[\r\n]/g, ''),
            },
            payload: route.method === 'POST' ? '{"citizen_id":"1234567890"}' : undefined,
          });
          expectWellFormed(res);
          expect(res.statusCode).toBe(401); // no such header is a valid token
        },
      ),
      runs(800),
    );
  }, 300_000);

  it('forged, tampered, expired and revoked tokens, and those of stopped users, are refused with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = tokens.get('admin') as string;
    const revoked = await (async () => {
      const user = await createUser(app, ['admin']);
      const pair = await login(app, user);
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(pair.access_token),
      });
      return pair.access_token;
    })();
    // What `npm run user:disable` does, with and without --delete.
    const ofStoppedUser = async (how: 'disable' | 'delete') => {
      const user = await createUser(app, ['admin']);
      const pair = await login(app, user);
      await app.users[how](user.username);
      return pair.access_token;
    };
    const disabled = await ofStoppedUser('disable');
    const deleted = await ofStoppedUser('delete');
    const claims = fc.record({
      sub: fc.oneof(fc.uuid(), hostileString),
      roles: fc.oneof(fc.constant(['admin']), fc.constant('admin'), fc.constant([]), hostileValue),
      jti: fc.oneof(fc.uuid(), hostileString),
      fid: fc.oneof(fc.uuid(), hostileString, fc.constant(null)),
      iat: fc.integer({ min: now - 10_000, max: now }),
      exp: fc.integer({ min: now - 10_000, max: now - 1 }), // always expired
      iss: fc.constantFrom('citizen-affiliation', 'someone-else'),
      aud: fc.constantFrom('citizen-affiliation-api', 'other'),
    });
    const token = fc.oneof(
      claims.map((c) => forgeToken(c, TEST_SECRET)), // expired (or wrong iss/aud)
      claims.map((c) =>
        forgeToken({ ...c, exp: now + 600 }, 'a-different-secret-long-enough-1234'),
      ),
      claims.map((c) => forgeToken({ ...c, exp: now + 600 }, '', { alg: 'none', typ: 'JWT' })),
      claims.map((c) =>
        forgeToken({ ...c, exp: now + 600 }, TEST_SECRET, { alg: 'HS512', typ: 'JWT' }),
      ),
      fc
        .tuple(fc.nat({ max: good.length - 1 }), fc.constantFrom('A', 'b', '0', '_', '-', '.'))
        .filter(([i, ch]) => good[i] !== ch)
        .map(([i, ch]) => `${good.slice(0, i)}${ch}${good.slice(i + 1)}`),
      fc.constantFrom(revoked, disabled, deleted),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PROTECTED), token, async (route, t) => {
        const res = await app.inject({
          method: route.method,
          url: route.url,
          headers: { 'content-type': 'application/json', ...bearer(t) },
          payload: route.method === 'POST' ? '{"citizen_id":"1234567890"}' : undefined,
        });
        expectWellFormed(res);
        expect(res.statusCode, t).toBe(401);
      }),
      runs(800),
    );
  }, 300_000);

  it('access is granted exactly where the roles allow', async () => {
    let n = 0;
    /** A citizen id no one has (the simulator: an even last digit), so a registration is 201. */
    const freeId = () => String(5_000_000_000 + 2 * n++);
    const roleSet = fc.subarray([...ROLES]);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PROTECTED), roleSet, async (route, roles) => {
        const res = await app.inject({
          method: route.method,
          url: route.url,
          headers: {
            'content-type': 'application/json',
            ...bearer(tokens.get(roleKey(roles)) as string),
          },
          payload: route.url.endsWith('/authenticate')
            ? {
                citizen_id: '1234567890',
                document_url: 'https://files.example.org/a.pdf',
                document_title: 'Diploma',
              }
            : route.url.endsWith('/citizens')
              ? { citizen_id: freeId(), name: 'Ana', address: 'Calle 1', email: 'ana@example.org' }
              : route.method === 'POST'
                ? { citizen_id: '1234567890' }
                : undefined,
        });
        expectWellFormed(res);
        const allowed = !route.permission || allows(roles, route.permission);
        if (allowed) expect([200, 201, 404]).toContain(res.statusCode);
        else expect(res.statusCode).toBe(403);
      }),
      runs(300),
    );
  }, 300_000);

  it('every log line written meanwhile is one valid JSON object, with nothing forged in it', () => {
    const text = logs.text();
    expect(text.length).toBeGreaterThan(0);
    for (const line of text.split('\n')) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry.msg).not.toBe('forged log line');
    }
    expect(text).not.toContain('DROP TABLE');
    expect(text).not.toContain('jndi:');
    expect(text).not.toContain(TEST_SECRET);
  });
});
