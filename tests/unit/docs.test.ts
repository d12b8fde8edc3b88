import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/env.js';
import { configTable } from '../../src/config/table.js';
import { PROBLEMS } from '../../src/shared/errors.js';
import { projectRoot } from '../../tools/shared/paths.js';

const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');

describe('docs stay true', () => {
  it('the README configuration table is the one generated from the config schema', () => {
    const readme = read('README.md');
    const table = readme.split('<!-- config:start -->')[1]?.split('<!-- config:end -->')[0]?.trim();
    expect(table, 'run `npm run docs:config` and paste the table into the README').toBe(
      configTable(),
    );
    for (const name of Object.keys(envSchema.shape)) expect(table).toContain(`\`${name}\``);
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
