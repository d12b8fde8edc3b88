import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { projectRoot } from '../../tools/shared/paths.js';

export const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');
export const readYaml = (file: string) => parse(read(file), { merge: true });

export type K8sObject = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

export function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `kubectl kustomize <dir>`, parsed. */
export function kustomize(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', join(projectRoot, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

/**
 * The TypeScript source a container command runs: `node … dist/src/x/y.js` → `src/x/y.ts`.
 * Throws when the command runs no file of ours.
 */
export function sourceOfCommand(command: string[]): string {
  const script = command.find((part) => /^dist\/.+\.js$/.test(part));
  if (!script) throw new Error(`no dist/…js in ${command.join(' ')}`);
  const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
  if (!existsSync(join(projectRoot, source))) throw new Error(`${script}: no ${source}`);
  return source;
}

export function containersOf(o: K8sObject): any[] {
  return o.spec?.template?.spec?.containers ?? [];
}
