import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../tools/shared/paths.js';

/**
 * The Dockerfile run as a script, for a machine with no Docker engine: each stage is a folder
 * standing for its WORKDIR, COPY copies from the repository (the build context) or from an
 * earlier stage, RUN runs in the folder with the stage's ENV. What needs the base image's OS is
 * skipped and reported (apt-get). Good enough to show that the stages build from what they copy
 * and that the runtime stage holds what the service needs; the image itself is built by CD.
 */

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string;
  dir: string;
  env: Record<string, string>;
  /** CMD, ENTRYPOINT, HEALTHCHECK, USER, as written (JSON arrays parsed). */
  meta: Record<string, unknown>;
  skipped: string[];
}

export function parseDockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return { op: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    });
}

/** `A=1 B="two words"` → { A: '1', B: 'two words' }. */
function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name, quoted, plain] of args.matchAll(/(\w+)=(?:"([^"]*)"|(\S*))/g)) {
    env[name as string] = quoted ?? plain ?? '';
  }
  return env;
}

const jsonOrText = (args: string): unknown => {
  const bracket = args.indexOf('[');
  try {
    return bracket >= 0 ? JSON.parse(args.slice(bracket)) : args;
  } catch {
    return args;
  }
};

/** Runs every stage; returns them by name. `node` is the Node.js the RUN steps see first. */
export function buildStages(
  instructions: Instruction[],
  options: { nodeBin: string; log?: (line: string) => void },
): Map<string, Stage> {
  const root = mkdtempSync(join(tmpdir(), 'ca-image-'));
  const stages = new Map<string, Stage>();
  const args: Record<string, string> = {};
  let stage: Stage | undefined;
  for (const { op, args: text } of instructions) {
    if (op === 'ARG') Object.assign(args, parseEnv(text));
    else if (op === 'FROM') {
      const [image = '', , name = `stage${stages.size}`] = text.split(/\s+/);
      const dir = join(root, name);
      const parent = stages.get(image);
      // A stage built on another starts as a copy of it (hard links: no step edits a file in
      // place, and removing a link leaves the parent's file alone).
      if (parent) execFileSync('cp', ['-al', parent.dir, dir]);
      else mkdirSync(dir, { recursive: true });
      stage = { name, dir, env: { ...parent?.env }, meta: {}, skipped: [] };
      stages.set(name, stage);
    } else if (!stage) throw new Error(`${op} before FROM`);
    else if (op === 'WORKDIR' || op === 'EXPOSE') continue;
    else if (op === 'ENV') Object.assign(stage.env, parseEnv(text));
    else if (op === 'COPY') copy(stage, text, stages);
    else if (op === 'RUN') {
      if (/^apt-get\b/.test(text)) {
        stage.skipped.push(text);
        continue;
      }
      options.log?.(`[${stage.name}] RUN ${text}`);
      execFileSync('sh', ['-c', text], {
        cwd: stage.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          ...stage.env,
          // RUN steps of the build stages run before the runtime's NODE_ENV applies to them.
          PATH: `${dirname(options.nodeBin)}:${process.env.PATH ?? ''}`,
        },
      });
    } else stage.meta[op] = jsonOrText(text);
  }
  return stages;
}

function copy(stage: Stage, text: string, stages: Map<string, Stage>): void {
  const parts = text.split(/\s+/);
  const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
  const paths = parts.filter((p) => !p.startsWith('--'));
  const dest = paths.pop() as string;
  const source = from ? stages.get(from) : undefined;
  if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
  for (const path of paths) {
    const src = source ? join(source.dir, path.replace(/^\/app\/?/, '')) : join(projectRoot, path);
    const base = path.split('/').at(-1) as string;
    const target = dest.endsWith('/') ? join(stage.dir, dest, base) : join(stage.dir, dest);
    cpSync(src, target, { recursive: true, verbatimSymlinks: true });
  }
}
