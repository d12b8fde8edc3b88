import closeWithGrace from 'close-with-grace';
import { parseEnv } from '../config/env.js';
import { buildHubSimulator, simulatorEnvSchema } from '../hub/simulator.js';

/**
 * `npm run hub:sim`: the GovCarpeta simulator on its own (a development tool; see
 * docs/hub-simulator.md). Point the service at it with GOVCARPETA_URL=http://127.0.0.1:8090.
 */
const env = parseEnv(simulatorEnvSchema, process.env);

if (env.NODE_ENV === 'production') {
  console.error('The GovCarpeta simulator is a development tool and refuses NODE_ENV=production.');
  process.exit(2);
}

const sim = buildHubSimulator({ logger: { level: env.LOG_LEVEL } });
closeWithGrace({ delay: 5000 }, async () => {
  await sim.app.close();
});
await sim.app.listen({ host: env.HUB_SIM_HOST, port: env.HUB_SIM_PORT });
