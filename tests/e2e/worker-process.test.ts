import { expect, it, onTestFinished } from 'vitest';
import { amqpUrl, TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { freshDatabase } from '../helpers/database.js';
import { freePort, runScript } from '../helpers/process.js';

withBroker('npm run worker (the process)', () => {
  it('starts, reports ready on its PORT, and exits cleanly on SIGTERM', async () => {
    const db = await freshDatabase();
    const broker = await TestBroker.open();
    const exchange = testExchange();
    broker.track(exchange);
    const port = await freePort();
    const run = runScript('src/worker.ts', [], {
      DATABASE_URL: db.url,
      AMQP_URL: amqpUrl ?? '',
      AMQP_EXCHANGE: exchange,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      GOVCARPETA_URL: 'http://127.0.0.1:9',
    });
    onTestFinished(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await broker.close();
      await db.drop();
    });
    await run.waitFor(/Server listening/);
    const deadline = Date.now() + 10_000;
    let ready: Response;
    do {
      ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (ready.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: 'up', rabbitmq: 'up' },
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(
      /outbox_pending_events/,
    );
    run.child.kill('SIGTERM');
    expect((await run.exited).code, run.output().slice(-3000)).toBe(0);
    expect(run.output()).not.toContain('guest:guest');
  });

  it('refuses to start without AMQP_URL, saying so', async () => {
    const run = runScript('src/worker.ts', [], { DATA_DIR: 'memory://', PORT: '0' });
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/AMQP_URL: the worker needs it/);
  });
});
