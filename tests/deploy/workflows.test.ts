import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../../tools/shared/paths.js';

const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');

describe('.github/workflows: GitHub CI runs what the project CI runs', () => {
  const ci = parse(read('.github/workflows/ci.yml'));
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

  it('every job of every workflow has a timeout', () => {
    for (const file of ['ci.yml', 'cd.yml', 'security.yml']) {
      const workflow = parse(read(`.github/workflows/${file}`));
      for (const [name, job] of Object.entries(workflow.jobs)) {
        expect(
          (job as { 'timeout-minutes'?: number })['timeout-minutes'],
          `${file}: ${name}`,
        ).toBeGreaterThan(0);
      }
    }
  });
});
