import { createHmac, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { keyId } from '../../src/auth/keys.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const headerOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString());
const SECRET_1 = 'first-secret-first-secret-first-secret-01';
const SECRET_2 = 'second-secret-second-secret-second-secret';

withServices(
  'our signing secret rotates: tokens carry a kid; the previous secret still verifies',
  () => {
    const apps: App[] = [];
    const app = async (env: Record<string, string>) => {
      const a = await buildTestApp(env);
      apps.push(a);
      return a;
    };
    afterAll(async () => {
      for (const a of apps) await a.close();
    });
    const me = (a: App, token: string) =>
      a.inject({ url: '/api/v1/auth/me', headers: bearer(token) }).then((r) => r.statusCode);

    it('a token of the old secret works after the rotation, not after the retirement; new tokens carry the new kid', async () => {
      const before = await app({ JWT_SECRET: SECRET_1 });
      const user = await createUser(before, ['operator']);
      const old = (await login(before, user)).access_token;
      expect(headerOf(old).kid).toBe(keyId(SECRET_1));
      expect(await me(before, old)).toBe(200);

      // rotated: signs with the new secret, still verifies the old one
      const rotated = await app({ JWT_SECRET: SECRET_2, JWT_PREVIOUS_SECRETS: SECRET_1 });
      expect(await me(rotated, old)).toBe(200);
      const fresh = (await login(rotated, user)).access_token;
      expect(headerOf(fresh).kid).toBe(keyId(SECRET_2));
      expect(await me(rotated, fresh)).toBe(200);
      // a replica not yet rotated refuses nothing it issued, and the new tokens once it has
      expect(await me(before, fresh)).toBe(401);

      // retired: the old secret is gone, its tokens are refused
      const retired = await app({ JWT_SECRET: SECRET_2 });
      expect(await me(retired, old)).toBe(401);
      expect(await me(retired, fresh)).toBe(200);
    });

    it('a kid we do not hold, or a token signed with another secret under our kid, is refused', async () => {
      const a = await app({ JWT_SECRET: SECRET_1 });
      const user = await createUser(a, ['operator']);
      const token = (await login(a, user)).access_token;
      const [, payload] = token.split('.');
      const forge = (kid: string, secret: string) => {
        const head = b64({ alg: 'HS256', typ: 'JWT', kid });
        const sig = createHmac('sha256', secret).update(`${head}.${payload}`).digest('base64url');
        return `${head}.${payload}.${sig}`;
      };
      expect(await me(a, forge(keyId(SECRET_1), SECRET_1))).toBe(200); // the same token, rebuilt
      expect(await me(a, forge('not-a-kid-of-ours', SECRET_1))).toBe(401);
      expect(await me(a, forge(keyId(SECRET_1), SECRET_2))).toBe(401);
    });
  },
);

/** A platform auth service: a JWKS over HTTP, and tokens signed with its keys. */
async function startAuthService() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys: { kid: string; alg: string; privateKey: KeyObject; publicKey: KeyObject }[] = [
    { kid: 'rsa-1', alg: 'RS256', ...rsa },
    { kid: 'ec-1', alg: 'ES256', ...ec },
  ];
  let down = false;
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/protocol/certs') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    if (down) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
      return;
    }
    const jwks = keys.map((k) => ({
      ...k.publicKey.export({ format: 'jwk' }),
      kid: k.kid,
      alg: k.alg,
      use: 'sig',
    }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}/realms/platform`;
  const token = (
    claims: Record<string, unknown> = {},
    opts: { kid?: string; alg?: string; hmacSecret?: string } = {},
  ) => {
    const key = keys.find((k) => k.kid === (opts.kid ?? 'rsa-1')) ?? keys[0];
    const alg = opts.alg ?? key?.alg ?? 'RS256';
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ alg, typ: 'JWT', kid: opts.kid ?? key?.kid });
    const body = b64({
      iss: issuer,
      aud: 'citizen-affiliation',
      sub: 'ana@platform',
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      roles: ['affiliation-operator', 'something-else'],
      ...claims,
    });
    const data = Buffer.from(`${head}.${body}`);
    let sig: Buffer;
    if (opts.hmacSecret) sig = createHmac('sha256', opts.hmacSecret).update(data).digest();
    else if (alg === 'ES256') {
      sig = sign('sha256', data, { key: key?.privateKey as KeyObject, dsaEncoding: 'ieee-p1363' });
    } else sig = sign('sha256', data, key?.privateKey as KeyObject);
    return `${head}.${body}.${sig.toString('base64url')}`;
  };
  return {
    issuer,
    jwksUrl: `${origin}/protocol/certs`,
    token,
    publicPem: rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    setDown: (d: boolean) => {
      down = d;
    },
    fetches: () => fetches,
    close: () => new Promise((r) => server.close(r)),
  };
}

withServices('tokens from the platform auth service (AUTH_ISSUER, its JWKS)', () => {
  let auth: Awaited<ReturnType<typeof startAuthService>>;
  let app: App;

  beforeAll(async () => {
    auth = await startAuthService();
    app = await buildTestApp({
      AUTH_ISSUER: auth.issuer,
      AUTH_JWKS_URL: auth.jwksUrl,
      AUTH_AUDIENCE: 'citizen-affiliation',
      AUTH_ROLE_MAP: 'roles:affiliation-operator=operator,affiliation-auditor=auditor',
    });
  });
  afterAll(async () => {
    await app?.close();
    await auth?.close();
  });
  const get = (token: string, url = '/api/v1/auth/me') =>
    app.inject({ url, headers: bearer(token) });

  it('accepts an RS256 and an ES256 token of the platform, with its roles mapped to ours', async () => {
    const res = await get(auth.token());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      id: 'platform:ana@platform',
      username: 'ana@platform',
      roles: ['operator'],
    });
    // a route that needs the operator role
    expect((await get(auth.token(), '/api/v1/affiliation/checks?limit=1')).statusCode).toBe(200);
    expect((await get(auth.token({}, { kid: 'ec-1' }))).statusCode).toBe(200);
    // a platform user without a mapped role may do nothing
    const none = auth.token({ roles: ['something-else'] });
    expect((await get(none, '/api/v1/affiliation/checks?limit=1')).statusCode).toBe(403);
  });

  it('refuses the algorithm confusion: HS256 "signed" with the public key as the secret', async () => {
    const forged = auth.token({}, { alg: 'HS256', kid: 'rsa-1', hmacSecret: auth.publicPem });
    expect((await get(forged)).statusCode).toBe(401);
    const none = `${auth.token().split('.').slice(0, 2).join('.')}.`;
    expect((await get(none)).statusCode).toBe(401);
  });

  it('refuses another issuer, another audience, and an expired token', async () => {
    expect((await get(auth.token({ iss: 'https://evil.example.org' }))).statusCode).toBe(401);
    expect((await get(auth.token({ aud: 'another-service' }))).statusCode).toBe(401);
    const past = Math.floor(Date.now() / 1000) - 600;
    expect((await get(auth.token({ iat: past, exp: past + 60 }))).statusCode).toBe(401);
    // and our own issuer's name does not make a platform-signed token ours
    expect((await get(auth.token({ iss: 'citizen-affiliation' }))).statusCode).toBe(401);
  });

  it('revokes a platform token by its jti (logout)', async () => {
    const token = auth.token();
    expect((await get(token)).statusCode).toBe(200);
    const out = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(token),
    });
    expect(out.statusCode, out.body).toBe(204);
    const after = await get(token);
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('TOKEN_REVOKED');
  });

  it('JWKS down: a cached key still works; an unknown kid fails closed and asks the JWKS at most once', async () => {
    expect((await get(auth.token())).statusCode).toBe(200); // rsa-1 cached
    auth.setDown(true);
    try {
      expect((await get(auth.token())).statusCode).toBe(200);
      const before = auth.fetches();
      const unknown = [1, 2, 3].map((n) => auth.token({}, { kid: `made-up-${n}`, alg: 'RS256' }));
      for (const t of unknown) expect((await get(t)).statusCode).toBe(401);
      expect(auth.fetches() - before, 'a flood of unknown kids is not a flood of fetches').toBe(1);
    } finally {
      auth.setDown(false);
    }
  });
});
