import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app/api.js';
import { loadConfig } from '../../src/config/env.js';
import { TUNING as tuning } from '../../src/config/tuning.js';
import { readYaml } from '../helpers/deploy.js';

interface Plugin {
  name: string;
  config: Record<string, unknown>;
}
interface Route {
  name: string;
  paths: string[];
  methods?: string[];
  protocols: string[];
  plugins?: Plugin[];
}

/** Whether a Kong route path matches a request path: a prefix, or `~regex` anchored at the start. */
const matches = (kongPath: string, path: string) =>
  kongPath.startsWith('~')
    ? new RegExp(`^${kongPath.slice(1)}`).test(path)
    : path.startsWith(kongPath);
/** An OpenAPI path as a request would spell it: `/api/v1/transfers/{transfer_id}` → `…/x1`. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'x1');
const pluginOf = (route: Route, name: string) =>
  route.plugins?.find((p) => p.name === name)?.config;

describe('k8s/kong/kong.yml: the gateway routes what we serve publicly, and nothing internal', () => {
  const kong = readYaml('k8s/kong/kong.yml');
  const routes = kong.services.flatMap((s: { routes: Route[] }) => s.routes) as Route[];
  const routed = (path: string) => routes.filter((r) => r.paths.some((p) => matches(p, path)));
  let app: App;
  let paths: string[];

  beforeAll(async () => {
    app = await buildApp(
      loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }),
    );
    await app.ready();
    paths = Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths);
  });
  afterAll(() => app?.close());

  it('is Kong 3 declarative config, over https only', () => {
    expect(kong._format_version).toBe('3.0');
    for (const r of routes) expect(r.protocols, r.name).toEqual(['https']);
  });

  it('every public path of our OpenAPI document has a route, and every route leads to one', () => {
    const publicPaths = paths.filter((p) => p.startsWith('/api/'));
    expect(publicPaths.length).toBeGreaterThan(15);
    for (const path of publicPaths) expect(routed(concrete(path)).length, path).toBeGreaterThan(0);
    for (const route of routes) {
      for (const kongPath of route.paths) {
        const served = paths.some((p) => matches(kongPath, concrete(p)));
        expect(served, `${route.name}: ${kongPath} leads nowhere in the OpenAPI document`).toBe(
          true,
        );
      }
    }
    // the peer endpoints take POST only, as the OpenAPI document says
    const peers = routes.find((r) => r.name === 'citizen-affiliation-peers') as Route;
    expect(peers.methods).toEqual(['POST']);
  });

  it('routes nothing internal: health, metrics, the docs UI and its document', () => {
    const internal = [
      ...paths.filter((p) => p.startsWith('/health/')),
      '/metrics',
      '/docs',
      '/docs/json',
      '/docs/static/index.html',
    ];
    expect(internal).toContain('/health/ready');
    for (const path of internal)
      expect(
        routed(path).map((r) => r.name),
        path,
      ).toEqual([]);
    // and no route is a catch-all
    for (const r of routes)
      for (const p of r.paths) expect(p, r.name).not.toMatch(/^(\/|~\/\.\*)$/);
  });

  it('limits every route; login strictest; bodies no larger than the service accepts', () => {
    const perMinute = Object.fromEntries(
      routes.map((r) => [r.name, Number(pluginOf(r, 'rate-limiting')?.minute)]),
    );
    for (const [name, limit] of Object.entries(perMinute)) expect(limit, name).toBeGreaterThan(0);
    const login = perMinute['citizen-affiliation-login'] as number;
    for (const [name, limit] of Object.entries(perMinute)) {
      if (name !== 'citizen-affiliation-login') expect(login, name).toBeLessThan(limit);
    }
    // login wins over the /api/v1/ prefix (a higher regex priority): its limit applies
    expect(routed('/api/v1/auth/login').map((r) => r.name)).toContain('citizen-affiliation-login');
    const bodyLimit = (name: string) => {
      const config = pluginOf(
        routes.find((r) => r.name === name) as Route,
        'request-size-limiting',
      );
      expect(config?.size_unit, name).toBe('kilobytes');
      return Number(config?.allowed_payload_size) * 1024;
    };
    expect(bodyLimit('citizen-affiliation-api')).toBe(tuning.bodyLimitBytes);
    expect(bodyLimit('citizen-affiliation-login')).toBeLessThanOrEqual(tuning.bodyLimitBytes);
    expect(bodyLimit('citizen-affiliation-peers')).toBe(tuning.peerBodyLimitBytes);
  });

  it('passes the request id through (the header the service logs), and health-checks the upstream on a path it serves', async () => {
    const correlation = kong.plugins.find((p: Plugin) => p.name === 'correlation-id');
    expect(correlation.config.header_name.toLowerCase()).toBe('x-request-id');
    const id = 'kong-7f3a-9c1e';
    const res = await app.inject({ url: '/health/live', headers: { 'x-request-id': id } });
    expect(res.headers['x-request-id']).toBe(id);
    const check = kong.upstreams[0].healthchecks;
    expect(check.active.http_path).toBe('/health/live');
    expect((await app.inject(check.active.http_path)).statusCode).toBe(200);
    expect(check.passive.unhealthy.http_failures, 'our own 503s never eject a target').toBe(0);
    expect(kong.services[0].host).toBe(kong.upstreams[0].name);
    expect(kong.services[0].retries, 'a POST is never sent twice').toBe(0);
  });
});
