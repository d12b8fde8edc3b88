import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, runScript } from '../helpers/process.js';

describe('npm run hub:sim', () => {
  it('serves the simulator on HUB_SIM_PORT until SIGTERM', async () => {
    const port = await freePort();
    const run = runScript('src/cli/hub-sim.ts', [], {
      HUB_SIM_PORT: String(port),
      HUB_SIM_PEER_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    });
    onTestFinished(() => {
      run.child.kill('SIGKILL');
    });
    await run.waitFor(/Server listening/);
    const res = await fetch(`http://127.0.0.1:${port}/apis/validateCitizen/1234567891`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/registrado/);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('says which port is taken when its peer cannot listen, and exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    onTestFinished(() => {
      taken.close();
    });
    const peerPort = (taken.address() as { port: number }).port;
    const run = runScript('src/cli/hub-sim.ts', [], {
      HUB_SIM_PORT: String(await freePort()),
      HUB_SIM_PEER_PORT: String(peerPort),
      LOG_LEVEL: 'warn',
    });
    onTestFinished(() => {
      run.child.kill('SIGKILL');
    });
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toContain(
      `GovCarpeta simulator: listen EADDRINUSE: address already in use 127.0.0.1:${peerPort}`,
    );
    expect(run.output()).not.toMatch(/ReferenceError/);
  });

  it('refuses to run in production', async () => {
    const run = runScript('src/cli/hub-sim.ts', [], { NODE_ENV: 'production' });
    expect((await run.exited).code).toBe(2);
    expect(run.output()).toMatch(/development tool/);
  });
});
