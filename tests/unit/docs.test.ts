import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/env.js';
import { configTable } from '../../src/config/table.js';
import {
  CHECK_STATUSES,
  TRANSFER_STATUSES,
  TRANSFER_STEPS,
  VERIFICATION_STATUSES,
} from '../../src/shared/enums.js';
import { PROBLEMS } from '../../src/shared/errors.js';
import { projectRoot } from '../../tools/shared/paths.js';

const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');
const docs = readdirSync(join(projectRoot, 'docs')).filter((f) => f.endsWith('.md'));

describe('docs stay true', () => {
  it('the README configuration table is the one generated from the config schema', () => {
    const readme = read('README.md');
    const table = readme.split('<!-- config:start -->')[1]?.split('<!-- config:end -->')[0]?.trim();
    expect(table, 'run `npm run docs:config` and paste the table into the README').toBe(
      configTable(),
    );
    for (const name of Object.keys(envSchema.shape)) expect(table).toContain(`\`${name}\``);
  });

  it('docs name no setting the service does not read (a removed one, a misspelling)', () => {
    const known = new Set<string>([
      ...Object.keys(envSchema.shape),
      ...Object.keys(PROBLEMS),
      ...CHECK_STATUSES,
      ...VERIFICATION_STATUSES,
      ...TRANSFER_STEPS,
      ...TRANSFER_STATUSES,
      'NODE_OPTIONS', // V8's, set by the image
      'MALLOC_ARENA_MAX', // glibc's, set by the image
      'SO_REUSEPORT',
      'FUZZ_RUNS', // the fuzz suite's
      'SOAK_SECONDS', // the RabbitMQ outage soak's
      'AUTH_SHARE', // the k6 scripts'
      'CITIZEN_POPULATION',
      'MAX_VUS',
      'RABBITMQ_PASSWORD', // docker-compose.yml's
      'RABBITMQ_USER',
      'GRAFANA_ADMIN_PASSWORD',
      'NODE_IMAGE', // the Dockerfile's build argument
      'EXPECTED_IMAGE', // .github/scripts/deploy.sh's
      'KONG_DECLARATIVE_CONFIG', // Kong's
      // The OpenTelemetry SDK's (src/telemetry/start.ts starts it only when an endpoint is set)
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_SERVICE_NAME',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
      'OTEL_SDK_DISABLED',
      'OTEL_RESOURCE_ATTRIBUTES',
      'OTEL_METRICS_EXPORTER',
      'OTEL_LOGS_EXPORTER',
    ]);
    const otherTools = /^(BENCH|TEST|HUB_SIM|KUBECONFIG)_/; // the bench, the tests, the simulator, CD
    const files = ['README.md', 'tests/load/README.md', ...docs.map((f) => `docs/${f}`)];
    const unknown: string[] = [];
    for (const file of files) {
      let text = read(file);
      // docs/performance.md's results are history: they name the settings of their day.
      if (file.endsWith('performance.md')) text = text.slice(0, text.indexOf('## Results'));
      for (const [, name] of text.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`/g)) {
        if (!known.has(name as string) && !otherTools.test(name as string)) {
          unknown.push(`${file}: ${name}`);
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it('docs/api.md lists every problem code', () => {
    const api = read('docs/api.md');
    for (const code of Object.keys(PROBLEMS)) expect(api).toContain(`\`${code}\``);
  });

  it('every package.json script the README names exists', () => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts);
    const named = [...read('README.md').matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    for (const script of new Set(named)) expect(scripts).toContain(script);
  });

  it('docs/operations.md explains every alert the rules define, under the anchor they link to', () => {
    const operations = read('docs/operations.md');
    const rules = read('monitoring/alerts.yml');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1] as string);
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    for (const alert of alerts) {
      expect(operations).toContain(`### ${alert}`);
      expect(rules).toContain(`docs/operations.md#${alert.toLowerCase()}`);
    }
  });
});
