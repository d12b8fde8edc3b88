import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app/api.js';
import { DEFAULT_PORT, envSchema, loadConfig } from '../../src/config/env.js';
import { simulatorEnvSchema } from '../../src/hub/simulator.js';
import { generated } from '../../tools/monitoring/generate.js';
import {
  containersOf,
  type K8sObject,
  kubectlAvailable,
  kustomize,
  read,
  readYaml,
  sourceOfCommand,
} from '../helpers/deploy.js';
import { unknownFields, validateModels } from '../helpers/k8s-schema.js';
import { metricNames } from '../helpers/promql.js';

const OVERLAYS = ['development', 'staging', 'production'];
const REQUIRED_IN_PRODUCTION = [
  'JWT_SECRET',
  'SECURITY_LOG_KEY',
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
          SECURITY_LOG_KEY: 'y'.repeat(40),
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
          // started = every dependency answered once (a version that cannot reach them never
          // takes traffic); ready = the process serves (a shared dependency's blip does not take
          // every pod out of the Service at once): docs/deployment.md#probes
          expect(c.startupProbe.httpGet.path).toBe('/health/ready');
          expect(c.livenessProbe.httpGet.path).toBe('/health/live');
          expect(c.readinessProbe.httpGet.path).toBe('/health/live');
          expect(c.startupProbe.timeoutSeconds).toBeGreaterThan(2); // /health/ready waits up to 2 s
        }
      });

      it('runs the files the build produces, with a pinned image', () => {
        for (const o of objects) {
          for (const c of containersOf(o)) {
            expect(sourceOfCommand(c.command)).toMatch(/^src\//);
            // a digest, or the tag CD pushes (.github/scripts/pin-image.sh writes either)
            expect(c.image).toMatch(/^ghcr\.io\/[^:@]+(@sha256:[0-9a-f]{64}|:main)$/);
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
          'NetworkPolicy/citizen-affiliation-api-ingress',
          'NetworkPolicy/citizen-affiliation-postgres',
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

  it('production and staging carry the Prometheus operator rules and the Grafana dashboard, generated from monitoring/', () => {
    for (const [file, make] of Object.entries(generated)) {
      expect(read(file), `${file}: npm run monitoring:generate`).toBe(make());
    }
    const groups = ['monitoring/alerts.yml', 'monitoring/alerts-kubernetes.yml'].flatMap(
      (file) => readYaml(file).groups,
    );
    const dashboard = JSON.parse(read('monitoring/grafana/dashboards/citizen-affiliation.json'));
    for (const overlay of ['staging', 'production']) {
      const objects = built[overlay] as K8sObject[];
      expect(find(objects, 'PrometheusRule', 'citizen-affiliation').spec.groups).toEqual(groups);
      find(objects, 'ServiceMonitor', 'citizen-affiliation');
      const board = find(objects, 'ConfigMap', 'citizen-affiliation-dashboard');
      expect(board.metadata.labels?.grafana_dashboard).toBe('1');
      expect(JSON.parse(board.data?.['citizen-affiliation.json'] ?? '')).toEqual(dashboard);
    }
    const prod = built.production as K8sObject[];
    expect(find(prod, 'HorizontalPodAutoscaler', 'citizen-affiliation-api').spec.minReplicas).toBe(
      3,
    );
  });

  it('Kubernetes alerts: pods not ready, crash loops, the autoscaler at its maximum, memory near the limit', () => {
    const rules = readYaml('monitoring/alerts-kubernetes.yml').groups.flatMap(
      (g: { rules: unknown[] }) => g.rules,
    ) as { alert: string; expr: string }[];
    const byName = Object.fromEntries(rules.map((r) => [r.alert, metricNames(r.expr)]));
    expect(byName.CitizenAffiliationPodNotReady).toContain('kube_pod_status_ready');
    expect(byName.CitizenAffiliationCrashLooping).toContain(
      'kube_pod_container_status_waiting_reason',
    );
    expect(byName.CitizenAffiliationAutoscalerAtMax).toEqual(
      expect.arrayContaining([
        'kube_horizontalpodautoscaler_status_current_replicas',
        'kube_horizontalpodautoscaler_spec_max_replicas',
      ]),
    );
    expect(byName.CitizenAffiliationMemoryNearLimit).toEqual(
      expect.arrayContaining([
        'container_memory_working_set_bytes',
        'kube_pod_container_resource_limits',
      ]),
    );
    // they read only what kube-state-metrics and cAdvisor export (the service's own metrics are
    // monitoring/alerts.yml's, checked against /metrics in tests/integration/monitoring.test.ts)
    for (const [alert, names] of Object.entries(byName)) {
      for (const name of names) expect(name, alert).toMatch(/^(kube_|container_)/);
    }
    // every alert of both files has its runbook section
    const operations = read('docs/operations.md');
    for (const file of ['monitoring/alerts.yml', 'monitoring/alerts-kubernetes.yml']) {
      for (const g of readYaml(file).groups) {
        for (const r of g.rules)
          expect(operations, `${file}: ${r.alert}`).toContain(`### ${r.alert}\n`);
      }
    }
  });

  it('every object of every overlay validates against the Kubernetes schemas, strictly (unknown fields fail)', async () => {
    for (const overlay of OVERLAYS) {
      const objects = built[overlay] as K8sObject[];
      expect(await validateModels(objects), overlay).toEqual([]);
      expect(unknownFields(objects), overlay).toEqual([]);
    }
    // and the checks do fail: a field the schema lacks, and a wrong type
    const api = structuredClone(
      find(built.production as K8sObject[], 'Deployment', 'citizen-affiliation-api'),
    );
    api.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(unknownFields([api])[0]?.message).toMatch(/imagePullPolicyy/);
    const hpa = structuredClone(
      find(built.production as K8sObject[], 'HorizontalPodAutoscaler', 'citizen-affiliation-api'),
    );
    hpa.spec.maxReplicas = 'twenty';
    expect((await validateModels([hpa]))[0]?.message).toMatch(/maxReplicas/);
  });

  it('network policies: every egress names its destination; each component gets only what it needs', () => {
    for (const overlay of OVERLAYS) {
      const objects = built[overlay] as K8sObject[];
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
      for (const p of policies) {
        for (const rule of p.spec.egress ?? []) {
          expect(
            rule.to?.length,
            `${overlay}: ${p.metadata.name} egress without destinations`,
          ).toBeGreaterThan(0);
          expect(rule.ports?.length, `${overlay}: ${p.metadata.name}`).toBeGreaterThan(0);
        }
      }
      const podsOf = (name: string) =>
        find(objects, name === 'migrate' ? 'Job' : 'Deployment', `citizen-affiliation-${name}`).spec
          .template.metadata.labels;
      const egressPorts = (labels: Record<string, string>) =>
        policies
          .filter(
            (p) => p.spec.policyTypes.includes('Egress') && selects(p.spec.podSelector, labels),
          )
          .flatMap((p) =>
            (p.spec.egress ?? []).flatMap((r: { ports: { port: number }[] }) =>
              r.ports.map((x) => x.port),
            ),
          )
          .filter((port: number) => port !== 8090) // the development hub simulator
          .sort((a: number, b: number) => a - b);
      const ingressFrom = (labels: Record<string, string>) =>
        policies
          .filter(
            (p) => p.spec.policyTypes.includes('Ingress') && selects(p.spec.podSelector, labels),
          )
          .flatMap((p) => p.spec.ingress ?? [])
          .flatMap(
            (r: { from: { namespaceSelector?: { matchLabels: Record<string, string> } }[] }) =>
              r.from.map((f) => f.namespaceSelector?.matchLabels['kubernetes.io/metadata.name']),
          );
      // plain and TLS ports of the data stores; HTTPS to the hub and the peers
      expect(egressPorts(podsOf('api')), overlay).toEqual([
        53, 53, 443, 5432, 5671, 5672, 6379, 6380,
      ]);
      expect(egressPorts(podsOf('worker')), overlay).toEqual([53, 53, 443, 5432, 5671, 5672]); // no Redis
      expect(egressPorts(podsOf('migrate')), overlay).toEqual([53, 53, 5432]); // Postgres only
      expect(new Set(ingressFrom(podsOf('api')))).toEqual(new Set(['ingress-nginx', 'monitoring']));
      expect(ingressFrom(podsOf('worker'))).toEqual(['monitoring']);
      expect(ingressFrom(podsOf('migrate'))).toEqual([]);
      // HTTPS goes to public addresses only: no cloud metadata, no private ranges
      const https = find(objects, 'NetworkPolicy', 'citizen-affiliation-https');
      expect(https.spec.egress[0].to[0].ipBlock.except).toEqual(
        expect.arrayContaining(['169.254.0.0/16', '10.0.0.0/8']),
      );
    }
    // the data stores are each overlay's: staging and production name their networks
    for (const overlay of ['staging', 'production']) {
      for (const store of ['postgres', 'redis', 'rabbitmq']) {
        const policy = find(
          built[overlay] as K8sObject[],
          'NetworkPolicy',
          `citizen-affiliation-${store}`,
        );
        expect(policy.spec.egress[0].to[0].ipBlock?.cidr, `${overlay}: ${store}`).toMatch(
          /^\d+\.\d+\.\d+\.\d+\/\d+$/,
        );
      }
    }
  });

  it('at its largest (autoscaler maximum, a rollout surging, the migration) each overlay fits Postgres default max_connections', () => {
    // PostgreSQL's default max_connections is 100, 3 of them reserved for superusers.
    const available = 100 - 3;
    for (const overlay of OVERLAYS) {
      const objects = built[overlay] as K8sObject[];
      const config = find(objects, 'ConfigMap', 'citizen-affiliation');
      const poolOf = (o: K8sObject) =>
        Number(
          containersOf(o)[0].env?.find((e: { name: string }) => e.name === 'DATABASE_POOL_MAX')
            ?.value ??
            config.data?.DATABASE_POOL_MAX ??
            10,
        );
      const surge = (d: K8sObject) => Number(d.spec.strategy?.rollingUpdate?.maxSurge ?? NaN);
      const api = find(objects, 'Deployment', 'citizen-affiliation-api');
      const worker = find(objects, 'Deployment', 'citizen-affiliation-worker');
      const apiPods =
        find(objects, 'HorizontalPodAutoscaler', 'citizen-affiliation-api').spec.maxReplicas +
        surge(api);
      const workerPods = worker.spec.replicas + surge(worker);
      // the migration, like every CLI, opens one connection (src/cli/database.ts)
      const total = apiPods * poolOf(api) + workerPods * poolOf(worker) + 1;
      expect(
        total,
        `${overlay}: ${apiPods}×${poolOf(api)} + ${workerPods}×${poolOf(worker)} + 1`,
      ).toBeLessThanOrEqual(available);
    }
    expect(read('src/cli/database.ts')).toMatch(/poolMax: 1\b/);
    expect(read('docs/deployment.md')).toMatch(/## Postgres connections/);
  });

  it('the migration Job stays once finished (a plain re-apply re-creates nothing) and needs only the Secret', () => {
    for (const overlay of OVERLAYS) {
      const job = find(built[overlay] as K8sObject[], 'Job', 'citizen-affiliation-migrate');
      expect(job.spec.ttlSecondsAfterFinished, overlay).toBeUndefined();
      expect(containersOf(job)[0].envFrom, overlay).toBeUndefined();
    }
  });
});

/** Whether a NetworkPolicy's podSelector selects a pod with these labels. */
function selects(
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  },
  labels: Record<string, string>,
): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    if (e.operator === 'In') return value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'NotIn') return value === undefined || !(e.values ?? []).includes(value);
    if (e.operator === 'Exists') return value !== undefined;
    return value === undefined; // DoesNotExist
  });
  return byLabel && byExpression;
}
