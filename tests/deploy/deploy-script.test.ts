import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../tools/shared/paths.js';
import { kubectlAvailable } from '../helpers/deploy.js';

// .github/scripts/deploy.sh against a fake cluster (tests/helpers/fake-kubectl.mjs) that
// behaves as the API server does where the order matters: a Job whose ServiceAccount, ConfigMap
// or Secret is missing never gets a pod, and a Job's pod template cannot change.
const NAMESPACE = 'citizen-affiliation-staging';
const haveKubectl = kubectlAvailable();
const realKubectl = haveKubectl
  ? spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim()
  : '';

describe.skipIf(!haveKubectl)('.github/scripts/deploy.sh', () => {
  let dir: string;
  let statePath: string;

  const cluster = (objects: string[]) => {
    const state = { clock: 0, objects: {} as Record<string, unknown> };
    for (const id of objects) state.objects[id] = { object: {}, created: state.clock++ };
    writeFileSync(statePath, JSON.stringify(state));
  };
  const withNamespaceAndSecret = () =>
    cluster([`-/Namespace/${NAMESPACE}`, `${NAMESPACE}/Secret/citizen-affiliation`]);
  const deploy = (env: Record<string, string> = {}, overlay = 'k8s/overlays/staging') =>
    spawnSync('bash', [join(projectRoot, '.github/scripts/deploy.sh')], {
      cwd: projectRoot,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        PATH: `${dir}:${process.env.PATH}`,
        REAL_KUBECTL: realKubectl,
        FAKE_KUBE_STATE: statePath,
        OVERLAY: overlay,
        NAMESPACE,
        POLL_SECONDS: '0.05',
        ...env,
      },
    });
  const calls = () => readFileSync(`${statePath}.log`, 'utf8').split('\n');
  const applied = () =>
    calls()
      .filter((l) => l.startsWith('  applied '))
      .map((l) => l.slice('  applied '.length));
  const clearLog = () => writeFileSync(`${statePath}.log`, '');
  /** An overlay over staging that runs another image. */
  const overlayWithImage = (image: string) => {
    const overlay = join(dir, 'overlay');
    rmSync(overlay, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', overlay]);
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      `resources: [${relative(overlay, join(projectRoot, 'k8s/overlays/staging'))}]\nimages:\n  - name: ghcr.io/carpeta-ciudadana/citizen-affiliation\n    digest: ${image}\n`,
    );
    return overlay;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-'));
    statePath = join(dir, 'cluster.json');
    const kubectl = join(dir, 'kubectl');
    writeFileSync(
      kubectl,
      `#!/bin/sh\nexec node ${join(projectRoot, 'tests/helpers/fake-kubectl.mjs')} "$@"\n`,
    );
    chmodSync(kubectl, 0o755);
    writeFileSync(`${statePath}.log`, '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a first deploy into an empty namespace (with its Secret) runs the migrations, then rolls out', () => {
    withNamespaceAndSecret();
    const run = deploy();
    expect(run.stderr).toContain('deploy: done');
    expect(run.status).toBe(0);
    const order = applied();
    const at = (name: string) => {
      const i = order.findIndex((o) => o.startsWith(name));
      expect(i, `${name} in ${order.join(', ')}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const job = at('Job/citizen-affiliation-migrate');
    for (const before of [
      'ServiceAccount/citizen-affiliation',
      'ConfigMap/citizen-affiliation-',
      'NetworkPolicy/citizen-affiliation-postgres',
      'NetworkPolicy/citizen-affiliation-dns',
    ]) {
      expect(at(before), `${before} before the Job`).toBeLessThan(job);
    }
    for (const after of [
      'Deployment/citizen-affiliation-api',
      'Deployment/citizen-affiliation-worker',
    ]) {
      expect(at(after), `${after} after the Job`).toBeGreaterThan(job);
    }
  });

  it('a plain re-run leaves the finished Job alone and changes nothing', () => {
    withNamespaceAndSecret();
    expect(deploy().status).toBe(0);
    clearLog();
    const again = deploy();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('not re-created');
    expect(calls().some((l) => l.includes('delete job'))).toBe(false);
    expect(calls()).toContain('  unchanged Job/citizen-affiliation-migrate');
  });

  it('a new image replaces the Job (its template cannot change) and migrates before rolling out', () => {
    withNamespaceAndSecret();
    expect(deploy().status).toBe(0);
    clearLog();
    const digest = `sha256:${'b'.repeat(64)}`;
    const run = deploy({}, overlayWithImage(digest));
    expect(run.status, run.stderr).toBe(0);
    const log = calls();
    const deleted = log.indexOf('  deleted job/citizen-affiliation-migrate');
    const job = log.indexOf('  applied Job/citizen-affiliation-migrate');
    expect(deleted).toBeGreaterThanOrEqual(0);
    expect(job).toBeGreaterThan(deleted);
    expect(log.indexOf('  applied Deployment/citizen-affiliation-api')).toBeGreaterThan(job);
  });

  it('stops at once when the migration Job fails, shows its logs, and rolls nothing out', () => {
    withNamespaceAndSecret();
    const started = Date.now();
    const run = deploy({ FAKE_JOB_OUTCOME: 'Failed', MIGRATE_TIMEOUT_SECONDS: '600' });
    expect(run.status).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000); // not the 600 s timeout
    expect(run.stderr).toContain('the migration Job failed');
    expect(run.stderr).toContain('connection refused');
    expect(applied().some((o) => o.startsWith('Deployment/'))).toBe(false);
    // and the next run replaces the failed Job instead of waiting on it
    clearLog();
    const retry = deploy();
    expect(retry.status, retry.stderr).toBe(0);
    expect(calls()).toContain('  deleted job/citizen-affiliation-migrate');
  });

  it('without the Secret it says what to create and applies nothing', () => {
    cluster([`-/Namespace/${NAMESPACE}`]);
    const run = deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('no Secret citizen-affiliation');
    expect(run.stderr).toContain('secret.template.yaml');
    expect(applied()).toEqual([]);
  });

  it('with EXPECTED_IMAGE, refuses an overlay that runs another image (what runs is what git says)', () => {
    withNamespaceAndSecret();
    const run = deploy({
      EXPECTED_IMAGE: `ghcr.io/x/citizen-affiliation@sha256:${'c'.repeat(64)}`,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('commit the image to the overlay first');
    expect(applied()).toEqual([]);
    const digest = `sha256:${'d'.repeat(64)}`;
    const pinned = deploy(
      { EXPECTED_IMAGE: `ghcr.io/carpeta-ciudadana/citizen-affiliation@${digest}` },
      overlayWithImage(digest),
    );
    expect(pinned.status, pinned.stderr).toBe(0);
  });
});

describe.skipIf(!haveKubectl)('.github/scripts/pin-image.sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pin-'));
    cpSync(join(projectRoot, 'k8s'), join(dir, 'k8s'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const pin = (image: string, env: Record<string, string> = {}) =>
    spawnSync(
      'bash',
      [join(projectRoot, '.github/scripts/pin-image.sh'), 'k8s/overlays/production', image],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, GITHUB_OUTPUT: join(dir, 'output'), ...env },
      },
    );
  const rendered = () =>
    spawnSync(realKubectl, ['kustomize', join(dir, 'k8s/overlays/production')], {
      encoding: 'utf8',
    })
      .stdout.split('\n')
      .filter((l) => /^\s+image: /.test(l))
      .map((l) => l.trim().slice('image: '.length));

  it('writes a digest into the overlay, and says what it named before (for a rollback)', () => {
    const image = `ghcr.io/acme/citizen-affiliation@sha256:${'e'.repeat(64)}`;
    const run = pin(image);
    expect(run.status, run.stderr).toBe(0);
    expect(new Set(rendered())).toEqual(new Set([image]));
    expect(readFileSync(join(dir, 'output'), 'utf8')).toBe(
      'previous=ghcr.io/carpeta-ciudadana/citizen-affiliation:main\n',
    );
    const back = pin('ghcr.io/carpeta-ciudadana/citizen-affiliation:main');
    expect(back.status).toBe(0);
    expect(new Set(rendered())).toEqual(
      new Set(['ghcr.io/carpeta-ciudadana/citizen-affiliation:main']),
    );
    expect(readFileSync(join(dir, 'output'), 'utf8')).toContain(`previous=${image}\n`);
  });

  it('refuses what is neither a digest nor a tag', () => {
    for (const bad of ['citizen-affiliation', 'ghcr.io/x/y@sha256:abc', 'ghcr.io/x/y:bad tag']) {
      const run = pin(bad);
      expect(run.status, bad).toBe(2);
      expect(run.stderr).toContain('neither');
    }
  });

  it('with COMMIT=1, commits the pin and pushes it to main, over commits that landed meanwhile', () => {
    const git = (args: string[], cwd = dir) => {
      const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    const remote = join(dir, 'remote.git');
    git(['init', '-q', '--bare', '-b', 'main', remote]);
    git(['init', '-q', '-b', 'main']);
    git(['-c', 'user.email=t@t', '-c', 'user.name=t', 'add', 'k8s']);
    git(['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'manifests']);
    git(['remote', 'add', 'origin', remote]);
    git(['push', '-q', 'origin', 'main']);
    // someone else lands a commit first
    const other = join(dir, 'other');
    git(['clone', '-q', remote, other]);
    writeFileSync(join(other, 'NOTES'), 'x');
    git(['-c', 'user.email=o@o', '-c', 'user.name=o', 'add', 'NOTES'], other);
    git(['-c', 'user.email=o@o', '-c', 'user.name=o', 'commit', '-qm', 'other'], other);
    git(['push', '-q', 'origin', 'main'], other);
    const image = `ghcr.io/acme/citizen-affiliation@sha256:${'f'.repeat(64)}`;
    const run = pin(image, { COMMIT: '1' });
    expect(run.status, run.stderr).toBe(0);
    const log = git(['--git-dir', remote, 'log', '--format=%s', 'main']).split('\n');
    expect(log).toEqual([`deploy: production runs ${image}`, 'other', 'manifests']);
    const file = git([
      '--git-dir',
      remote,
      'show',
      'main:k8s/overlays/production/image/kustomization.yaml',
    ]);
    expect(file).toContain(`digest: sha256:${'f'.repeat(64)}`);
  });
});
