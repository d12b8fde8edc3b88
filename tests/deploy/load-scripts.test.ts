import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../tools/shared/paths.js';
import { read } from '../helpers/deploy.js';

describe('tests/load (k6)', () => {
  const scripts = readdirSync(join(projectRoot, 'tests/load')).filter((f) => f.endsWith('.js'));

  it('has every scenario, each valid JavaScript with thresholds', () => {
    expect(scripts.sort()).toEqual([
      'arrival-rate.js',
      'lib.js',
      'load.js',
      'smoke.js',
      'soak.js',
      'spike.js',
    ]);
    for (const script of scripts) {
      execFileSync(process.execPath, ['--check', join(projectRoot, 'tests/load', script)]);
      if (script !== 'lib.js') expect(read(`tests/load/${script}`)).toMatch(/thresholds/);
    }
    expect(read('tests/load/arrival-rate.js')).toMatch(/constant-arrival-rate/);
    expect(read('tests/load/load.js')).toMatch(/target: 1000/);
  });

  it('calls routes and fields the API has', () => {
    const lib = read('tests/load/lib.js');
    for (const route of [
      '/api/v1/auth/login',
      '/api/v1/affiliation/check',
      '/api/v1/documents/authenticate',
    ]) {
      expect(lib).toContain(route);
    }
    for (const field of ['citizen_id', 'document_url', 'document_title', 'access_token'])
      expect(lib).toContain(field);
  });
});
