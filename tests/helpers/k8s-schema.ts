import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../tools/shared/paths.js';
import type { K8sObject } from './deploy.js';

/**
 * Validation of Kubernetes objects against the API's schemas, from the `kubernetes-models`
 * packages (generated from the Kubernetes OpenAPI document; the Prometheus operator's from its
 * CRDs), in two passes:
 * - `validate()`, the models' JSON-schema check: types, required fields, formats;
 * - strictness, which the JSON schemas leave out (they allow unknown fields): every object is
 *   written as a TypeScript literal typed with the model's interface, and `tsc` fails on any
 *   property the interface does not have (an excess property check), at any depth.
 */
export interface SchemaProblem {
  object: string;
  message: string;
}

const label = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;

/** The module that holds an object's model: `kubernetes-models/apps/v1/Deployment`. */
export function modelModule(o: { apiVersion?: string; kind: string }): string {
  const apiVersion = o.apiVersion ?? '';
  if (apiVersion.startsWith('monitoring.coreos.com/')) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${o.kind}`;
  }
  return `kubernetes-models/${apiVersion}/${o.kind}`;
}

/** The JSON-schema pass: one problem per object that fails. */
export async function validateModels(objects: K8sObject[]): Promise<SchemaProblem[]> {
  const problems: SchemaProblem[] = [];
  for (const o of objects) {
    try {
      const module = await import(modelModule(o as K8sObject & { apiVersion: string }));
      const Model = module[o.kind];
      new Model(o).validate();
    } catch (err) {
      problems.push({ object: label(o), message: (err as Error).message });
    }
  }
  return problems;
}

/** The strict pass: every field each object sets exists in its kind's schema. */
export function unknownFields(objects: K8sObject[]): SchemaProblem[] {
  const dir = mkdtempSync(join(projectRoot, 'node_modules', '.k8s-schema-'));
  try {
    const imports = new Map<string, string>();
    const lines = objects.map((o, i) => {
      const module = modelModule(o as K8sObject & { apiVersion: string });
      const type = imports.get(module) ?? `T${imports.size}`;
      imports.set(module, type);
      return `// ${label(o)}\nexport const o${i}: ${type} = ${JSON.stringify(o, null, 1)};`;
    });
    const head = [...imports].map(
      ([module, type]) =>
        `import type { I${module.split('/').at(-1)} as ${type} } from '${module}';`,
    );
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'objects.ts'), `${head.join('\n')}\n${lines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['objects.ts'],
      }),
    );
    try {
      execFileSync(join(projectRoot, 'node_modules/.bin/tsc'), ['-p', dir], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
      return [];
    } catch (err) {
      const out = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
      const source = `${head.join('\n')}\n${lines.join('\n')}`.split('\n');
      return out
        .split('\n')
        .filter((l) => /error TS/.test(l))
        .map((l) => {
          const line = Number(l.match(/\((\d+),\d+\)/)?.[1] ?? 0);
          // the object a line belongs to: the nearest `// Kind/name` above it
          const owner = source
            .slice(0, line)
            .reverse()
            .find((s) => s.startsWith('// '));
          return { object: owner?.slice(3) ?? '?', message: l.replace(/^.*error /, '') };
        });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
