import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app/api.js';
import { DEFAULT_PORT, envSchema, loadConfig } from '../../src/config/env.js';
import { simulatorEnvSchema } from '../../src/hub/simulator.js';
import {
  containersOf,
  type K8sObject,
  kubectlAvailable,
  kustomize,
  read,
  readYaml,
  sourceOfCommand,
} from '../helpers/deploy.js';

const OVERLAYS = ['development', 'staging', 'production'];
const REQUIRED_IN_PRODUCTION = [
  'JWT_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
  'AMQP_URL',
  'GOVCARPETA_URL',
];
const haveKubectl = kubectlAvailable();
if (!haveKubectl && process.env.CI === 'true') {
  throw new Error(
    'kubectl is required under CI=true (apt-get install kubectl); .ci/run installs it',
  );
}

describe.skipIf(!haveKubectl)('k8s/: every overlay builds and matches the code', () => {
  let app: App;
  const secretKeys = Object.keys(readYaml('k8s/base/secret.template.yaml').stringData);
  const built = Object.fromEntries(OVERLAYS.map((o) => [o, kustomize(`k8s/overlays/${o}`)]));
  /** An object by kind and name; a generated ConfigMap by its name before the hash suffix. */
  const find = (objects: K8sObject[], kind: string, name: string) => {
    const found = objects.find(
      (o) =>
        o.kind === kind &&
        (o.metadata.name === name ||
          (kind === 'ConfigMap' && new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name))),
    );
    if (!found) throw new Error(`no ${kind}/${name}`);
    return found;
  };

  beforeAll(async () => {
    app = await buildApp(
      loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }),
    );
    await app.ready();
  });
  afterAll(() => app?.close());

  it('the secret template names only known variables and holds no real values', () => {
    for (const key of secretKeys) expect(Object.keys(envSchema.shape)).toContain(key);
    const values = Object.values(readYaml('k8s/base/secret.template.yaml').stringData) as string[];
    for (const v of values) expect(v === '' || /PASSWORD|REPLACE|USER|HOST/.test(v)).toBe(true);
  });

  for (const overlay of OVERLAYS) {
    describe(overlay, () => {
      const objects = built[overlay] as K8sObject[];
      const config = find(objects, 'ConfigMap', 'citizen-affiliation');
      const api = find(objects, 'Deployment', 'citizen-affiliation-api');
      const worker = find(objects, 'Deployment', 'citizen-affiliation-worker');

      it('sets only variables the config schema knows, and every one production requires', () => {
        const known = Object.keys(envSchema.shape);
        for (const key of Object.keys(config.data ?? {})) expect(known, key).toContain(key);
        expect(config.data?.NODE_ENV).toBe('production');
        const provided = new Set([...Object.keys(config.data ?? {}), ...secretKeys]);
        for (const key of REQUIRED_IN_PRODUCTION) expect([...provided]).toContain(key);
        for (const d of [api, worker]) {
          const from = containersOf(d)[0].envFrom.map(
            (e: Record<string, { name: string }>) => Object.values(e)[0]?.name,
          );
          expect(from).toEqual([config.metadata.name, 'citizen-affiliation']); // ConfigMap, Secret
        }
        const sim = objects.find(
          (o) => o.metadata.name === 'govcarpeta-simulator' && o.kind === 'Deployment',
        );
        for (const env of sim ? containersOf(sim)[0].env : []) {
          expect(Object.keys(simulatorEnvSchema.shape)).toContain(env.name);
        }
        // the config as the pods would see it parses (secrets stand in with placeholders)
        const env = {
          ...config.data,
          DATABASE_URL: 'postgres://u:p@db/x',
          REDIS_URL: 'redis://r',
          AMQP_URL: 'amqp://q',
          JWT_SECRET: 'x'.repeat(40),
        };
        expect(() => loadConfig(env)).not.toThrow();
        expect(() => loadConfig(env, 'worker')).not.toThrow();
      });

      it('probes paths the app serves, on the ports it listens on', () => {
        // The container's PORT, else the ConfigMap's, else the role's default.
        const portOf = (c: any, role: keyof typeof DEFAULT_PORT) =>
          Number(
            c.env?.find((e: any) => e.name === 'PORT')?.value ??
              config.data?.PORT ??
              DEFAULT_PORT[role],
          );
        const [apiContainer] = containersOf(api);
        expect(apiContainer.ports[0].containerPort).toBe(portOf(apiContainer, 'api'));
        const [workerContainer] = containersOf(worker);
        expect(workerContainer.ports[0].containerPort).toBe(portOf(workerContainer, 'worker'));
        for (const c of [apiContainer, workerContainer]) {
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
            const path = c[probe].httpGet.path;
            expect(app.hasRoute({ method: 'GET', url: path }), `${probe} ${path}`).toBe(true);
            expect(c[probe].httpGet.port).toBe(c.ports[0].name);
          }
          expect(c.livenessProbe.httpGet.path).toBe('/health/live');
          expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
        }
      });

      it('runs the files the build produces, with a pinned image', () => {
        for (const o of objects) {
          for (const c of containersOf(o)) {
            expect(sourceOfCommand(c.command)).toMatch(/^src\//);
            expect(c.image).toMatch(/^ghcr\.io\/.+:(?!latest$)[\w.-]+$/);
          }
        }
        expect(sourceOfCommand(containersOf(api)[0].command)).toBe('src/server.ts');
        expect(sourceOfCommand(containersOf(worker)[0].command)).toBe('src/worker.ts');
        const job = find(objects, 'Job', 'citizen-affiliation-migrate');
        expect(sourceOfCommand(containersOf(job)[0].command)).toBe('src/cli/migrate.ts');
      });

      it('runs every container restricted: non-root, read-only root, no privilege escalation, no capabilities', () => {
        for (const o of objects) {
          if (!containersOf(o).length) continue;
          const pod = o.spec.template.spec;
          expect(pod.securityContext.runAsNonRoot, o.metadata.name).toBe(true);
          expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
          expect(pod.automountServiceAccountToken).toBe(false);
          for (const c of containersOf(o)) {
            expect(c.securityContext).toMatchObject({
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            });
            expect(c.resources.requests).toBeDefined();
            expect(c.resources.limits.memory).toBeDefined();
          }
        }
      });

      it('has the service, ingress with TLS, autoscaler, disruption budgets and network policies', () => {
        const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
        expect(objects.filter((o) => o.kind === 'Namespace')).toHaveLength(1);
        for (const k of [
          'ServiceAccount/citizen-affiliation',
          'Service/citizen-affiliation-api',
          'Ingress/citizen-affiliation',
          'HorizontalPodAutoscaler/citizen-affiliation-api',
          'PodDisruptionBudget/citizen-affiliation-api',
          'NetworkPolicy/default-deny',
          'NetworkPolicy/citizen-affiliation',
          'Job/citizen-affiliation-migrate',
        ]) {
          expect(kinds).toContain(k);
        }
        const ingress = find(objects, 'Ingress', 'citizen-affiliation');
        expect(ingress.spec.tls[0].hosts).toContain(ingress.spec.rules[0].host);
        const paths = ingress.spec.rules[0].http.paths.map((p: { path: string }) => p.path);
        expect(paths).toEqual(['/api', '/docs']); // /metrics and /health stay internal
        const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter(Boolean));
        expect(namespaces.size).toBe(1);
      });
    });
  }

  it('the ConfigMap is generated with a hash of its contents, and every workload refers to that name', () => {
    const names = new Set<string>();
    for (const overlay of OVERLAYS) {
      const objects = built[overlay] as K8sObject[];
      const config = find(objects, 'ConfigMap', 'citizen-affiliation');
      expect(config.metadata.name).toMatch(/^citizen-affiliation-[a-z0-9]{10}$/);
      names.add(config.metadata.name);
      const refs = objects
        .flatMap((o) => containersOf(o))
        .flatMap((c: { envFrom?: { configMapRef?: { name: string } }[] }) => c.envFrom ?? [])
        .map((e) => e.configMapRef?.name)
        .filter(Boolean);
      expect(refs.length, overlay).toBeGreaterThan(0);
      for (const ref of refs) expect(ref, overlay).toBe(config.metadata.name);
    }
    expect(names.size, 'each overlay settings, each its own hash').toBe(OVERLAYS.length);
  });

  it('leaves the replicas of an autoscaled Deployment to its HorizontalPodAutoscaler', () => {
    for (const overlay of OVERLAYS) {
      const objects = built[overlay] as K8sObject[];
      const scaled = objects
        .filter((o) => o.kind === 'HorizontalPodAutoscaler')
        .map((h) => h.spec.scaleTargetRef.name as string);
      expect(scaled, overlay).toContain('citizen-affiliation-api');
      for (const name of scaled) {
        expect(
          find(objects, 'Deployment', name).spec.replicas,
          `${overlay}: ${name}`,
        ).toBeUndefined();
      }
    }
  });

  it('disruption budgets are shares (they scale with the replicas); TRUST_PROXY is each overlay own', () => {
    expect(read('k8s/base/config.env')).toMatch(/^TRUST_PROXY=false$/m);
    for (const overlay of OVERLAYS) {
      const objects = built[overlay] as K8sObject[];
      for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
        const value = pdb.spec.minAvailable ?? pdb.spec.maxUnavailable;
        expect(String(value), `${overlay}: ${pdb.metadata.name}`).toMatch(/^\d+%$/);
      }
      const config = find(objects, 'ConfigMap', 'citizen-affiliation');
      expect(config.data?.TRUST_PROXY, overlay).toMatch(/^[0-9a-f.:]+\/\d+(,[0-9a-f.:]+\/\d+)*$/);
    }
  });

  it('the ServiceMonitor and PrometheusRule carry the label a stock kube-prometheus-stack selects; alerts link their runbooks', () => {
    for (const overlay of ['staging', 'production']) {
      const objects = built[overlay] as K8sObject[];
      for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
        const object = find(objects, kind, 'citizen-affiliation');
        expect(object.metadata.labels?.release, `${overlay}: ${kind}`).toBe(
          'kube-prometheus-stack',
        );
      }
      const rule = find(objects, 'PrometheusRule', 'citizen-affiliation');
      for (const r of rule.spec.groups.flatMap((g: { rules: unknown[] }) => g.rules)) {
        expect(r.annotations.runbook_url, r.alert).toMatch(
          new RegExp(`^https://.+/docs/operations\\.md#${r.alert.toLowerCase()}$`),
        );
      }
    }
  });

  it('the 5xx alert counts API routes only (probes answering 503 page no one)', () => {
    const alerts = readYaml('monitoring/alerts.yml');
    const rule = alerts.groups[0].rules.find(
      (r: { alert: string }) => r.alert === 'CitizenAffiliationHighErrorRatio',
    );
    const selectors = [
      ...String(rule.expr).matchAll(/http_request_duration_seconds_count\{([^}]*)\}/g),
    ];
    expect(selectors).toHaveLength(2);
    for (const [, labels] of selectors) expect(labels).toContain('route=~"/api/.*"');
  });

  it('production and staging carry the Prometheus operator rules, equal to monitoring/alerts.yml', () => {
    const alerts = readYaml('monitoring/alerts.yml');
    for (const overlay of ['staging', 'production']) {
      const rule = find(built[overlay] as K8sObject[], 'PrometheusRule', 'citizen-affiliation');
      expect(rule.spec).toEqual(alerts);
      find(built[overlay] as K8sObject[], 'ServiceMonitor', 'citizen-affiliation');
    }
    const prod = built.production as K8sObject[];
    expect(find(prod, 'HorizontalPodAutoscaler', 'citizen-affiliation-api').spec.minReplicas).toBe(
      3,
    );
  });
});
