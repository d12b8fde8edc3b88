import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema, loadConfig } from '../../src/config/env.js';
import { simulatorEnvSchema } from '../../src/hub/simulator.js';
import { projectRoot } from '../../tools/shared/paths.js';
import { read, readYaml, sourceOfCommand } from '../helpers/deploy.js';

/**
 * The image itself is built by running the Dockerfile's stages as a script
 * (image-build.test.ts); what it must keep out of the build context is checked here.
 */
describe('.dockerignore', () => {
  it('keeps secrets, local data and build output out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.env', 'dist', 'data', '.git'])
      expect(ignored).toContain(entry);
  });
});

describe('Dockerfile', () => {
  it('labels the runtime image the OCI way, with the version and commit CD passes', () => {
    const dockerfile = read('Dockerfile');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    for (const label of ['title', 'description', 'source', 'version', 'revision']) {
      expect(runtime).toContain(`org.opencontainers.image.${label}=`);
    }
    const cd = JSON.stringify(readYaml('.github/workflows/cd.yml').jobs.image.steps);
    expect(cd).toMatch(/REVISION=\$\{\{ github\.sha \}\}/);
  });

  it('builds every stage on a base image pinned by digest, whose tag names the Node.js version .ci/run tests on', () => {
    const dockerfile = read('Dockerfile');
    const args = Object.fromEntries(
      [...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map(([, k, v]) => [k, v]),
    );
    const stages = new Set(
      [...dockerfile.matchAll(/^FROM .+ AS (\S+)$/gm)].map(([, name]) => name),
    );
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)]
      .map(([, image]) => (image as string).replace(/\$\{(\w+)\}/g, (_, k) => args[k] ?? ''))
      .filter((image) => !stages.has(image));
    expect(bases.length).toBeGreaterThan(0);
    for (const image of bases) {
      expect(image).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}$/);
    }
    expect(read('.ci/run')).toContain('s/^ARG NODE_IMAGE=node:\\([0-9.]*\\)-.*/\\1/p');
    expect(
      readYaml('.github/dependabot.yml').updates.map(
        (u: { 'package-ecosystem': string }) => u['package-ecosystem'],
      ),
    ).toContain('docker');
  });
});

describe('docker-compose.yml', () => {
  const compose = readYaml('docker-compose.yml');
  const services = compose.services as Record<string, Record<string, any>>;
  const ours = Object.entries(services).filter(([, s]) => s.image === 'citizen-affiliation:local');

  it('sets only variables our config knows, and starts things in order', () => {
    expect(ours.map(([n]) => n).sort()).toEqual(['api', 'hub-sim', 'migrate', 'worker']);
    for (const [name, service] of ours) {
      const schema = name === 'hub-sim' ? simulatorEnvSchema : envSchema;
      // OTEL_*: the OpenTelemetry SDK's own variables (README, "Tracing").
      for (const key of Object.keys(service.environment ?? {}).filter(
        (k) => !k.startsWith('OTEL_'),
      )) {
        expect(Object.keys(schema.shape), `${name}: ${key}`).toContain(key);
      }
      const command = service.command ?? ['node', '--enable-source-maps', 'dist/src/server.js'];
      expect(sourceOfCommand(command)).toMatch(/^src\//);
      expect(service.read_only).toBe(true);
    }
    // As `docker compose up` sees it with only the required secrets exported: `${NAME:-default}`
    // is its default, `${NAME:?message}` the value exported.
    const exported: Record<string, string> = {
      JWT_SECRET: 'x'.repeat(40),
      SECURITY_LOG_KEY: 'y'.repeat(40),
      RABBITMQ_PASSWORD: 'abc123',
      GRAFANA_ADMIN_PASSWORD: 'abc123',
    };
    const interpolated = (env: Record<string, unknown> = {}) =>
      Object.fromEntries(
        Object.entries(env).map(([k, v]) => [
          k,
          String(v).replace(
            /\$\{(\w+):([-?])([^}]*)\}/g,
            (_m, name: string, op: string, rest: string) =>
              op === '-' ? rest : (exported[name] ?? ''),
          ),
        ]),
      );
    const api = loadConfig(interpolated(services.api?.environment));
    expect(api.operator).toMatchObject({ id: expect.any(String), simulated: false });
    expect(() => loadConfig(interpolated(services.worker?.environment), 'worker')).not.toThrow();
    expect(String(services.api?.environment.JWT_SECRET)).toMatch(/^\$\{JWT_SECRET:\?/);
    expect(services.api?.depends_on).toMatchObject({
      migrate: { condition: 'service_completed_successfully' },
      rabbitmq: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(services.worker?.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(services.migrate?.depends_on.postgres.condition).toBe('service_healthy');
    for (const infra of ['postgres', 'redis', 'rabbitmq'])
      expect(services[infra]?.healthcheck).toBeDefined();
    expect(services.postgres?.image).toMatch(/^postgres:16/);
    expect(services.redis?.image).toMatch(/^redis:7/);
    expect(services.rabbitmq?.image).toMatch(/management/);
  });

  it('infrastructure: pinned, restarted, really ready; admin UIs on loopback with credentials from the environment', () => {
    for (const name of [
      'postgres',
      'redis',
      'rabbitmq',
      'prometheus',
      'grafana',
      'otel-collector',
      'jaeger',
    ]) {
      const service = services[name] as Record<string, any>;
      expect(service.image, name).toMatch(/:v?\d+\.\d+/);
      expect(service.restart, name).toBe('unless-stopped');
    }
    expect(services.rabbitmq?.hostname).toBe('rabbitmq');
    expect(String(services.postgres?.healthcheck.test)).toMatch(/pg_isready -h /);
    for (const name of ['rabbitmq', 'prometheus', 'grafana', 'hub-sim', 'jaeger']) {
      for (const port of services[name]?.ports ?? [])
        expect(String(port), name).toMatch(/^127\.0\.0\.1:/);
    }
    expect(services.rabbitmq?.environment.RABBITMQ_DEFAULT_PASS).toMatch(
      /^\$\{RABBITMQ_PASSWORD:\?/,
    );
    expect(services.grafana?.environment.GF_SECURITY_ADMIN_PASSWORD).toMatch(
      /^\$\{GRAFANA_ADMIN_PASSWORD:\?/,
    );
    expect(JSON.stringify(compose)).not.toMatch(/guest:guest|PASSWORD: admin/);
  });

  it('provisions Prometheus and Grafana from files in the repo', () => {
    for (const service of ['prometheus', 'grafana', 'otel-collector']) {
      for (const volume of services[service]?.volumes ?? []) {
        const host = String(volume).split(':')[0] as string;
        expect(existsSync(join(projectRoot, host)), host).toBe(true);
      }
    }
    const prometheus = readYaml('monitoring/prometheus.yml');
    const targets = prometheus.scrape_configs.flatMap((c: any) => c.static_configs[0].targets);
    expect(targets).toContain(`api:${services.api?.environment.PORT}`);
    expect(targets).toContain(`worker:${services.worker?.environment.PORT}`);
    expect(readdirSync(join(projectRoot, 'monitoring/grafana/dashboards'))).toContain(
      'citizen-affiliation.json',
    );
    // Traces: the apps export to the collector, the collector to Jaeger, Grafana reads Jaeger.
    const collector = readYaml('monitoring/otel-collector.yml');
    expect(services.api?.environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      `http://otel-collector:${collector.receivers.otlp.protocols.http.endpoint.split(':')[1]}`,
    );
    expect(collector.exporters['otlp/jaeger'].endpoint).toBe('jaeger:4317');
    expect(collector.service.pipelines.traces.exporters).toEqual(['otlp/jaeger']);
    const jaeger = readYaml('monitoring/grafana/provisioning/datasources/jaeger.yml');
    expect(jaeger.datasources[0]).toMatchObject({ type: 'jaeger', url: 'http://jaeger:16686' });
  });
});

describe('.github/workflows', () => {
  it('ci runs the tests on Node 20, 22 and 24 with real services, and builds every overlay', () => {
    const ci = readYaml('.github/workflows/ci.yml');
    expect(ci.jobs.test.strategy.matrix.node).toEqual([20, 22, 24]);
    expect(Object.keys(ci.jobs.test.services).sort()).toEqual(['postgres', 'rabbitmq', 'redis']);
    // It runs .ci/run, which runs these (tests/deploy/workflows.test.ts checks the rest).
    expect(JSON.stringify(ci.jobs.test.steps)).toContain('bash .ci/run');
    const run = read('.ci/run');
    for (const cmd of ['npm run lint', 'npm run typecheck', 'npm test']) expect(run).toContain(cmd);
    expect(JSON.stringify(ci.jobs.manifests.steps)).toContain('k8s/overlays/*/');
  });
});
