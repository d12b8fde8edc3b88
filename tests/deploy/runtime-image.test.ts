import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../tools/shared/paths.js';
import { freePort, runScript } from '../helpers/process.js';

/** Every .ts file compiled into the image (tsconfig.build.json's include). */
function builtSources(): string[] {
  const { include } = JSON.parse(readFileSync(join(projectRoot, 'tsconfig.build.json'), 'utf8'));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(projectRoot, dir))) {
      const path = join(dir, entry);
      if (statSync(join(projectRoot, path)).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push(path);
    }
  };
  for (const dir of include as string[]) walk(dir);
  return files;
}

describe('the runtime image', () => {
  it('needs only production dependencies (the final stage installs no devDependencies)', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
    const runtime = new Set(Object.keys(pkg.dependencies));
    const builtins = new Set(builtinModules);
    const missing: string[] = [];
    for (const file of builtSources()) {
      const text = readFileSync(join(projectRoot, file), 'utf8');
      for (const [, typeOnly, spec] of text.matchAll(
        /^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm,
      )) {
        if (typeOnly || !spec || spec.startsWith('.') || builtins.has(spec)) continue;
        if (spec.startsWith('node:')) continue;
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] as string);
        if (!runtime.has(name)) missing.push(`${file}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('HEALTHCHECK script: 0 when /health/live answers on PORT, 1 otherwise', async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/health/live' ? 200 : 404;
      res.end();
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const closed = String(await freePort());
      const up = runScript('src/cli/healthcheck.ts', [], { PORT: String(port) });
      expect((await up.exited).code).toBe(0);
      const none = runScript('src/cli/healthcheck.ts', [], { PORT: closed });
      expect((await none.exited).code).toBe(1);
    } finally {
      server.close();
    }
  });
});
