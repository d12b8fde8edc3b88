import closeWithGrace from 'close-with-grace';
import { parseEnv } from '../config/env.js';
import { startPeerBeside } from '../hub/peer-simulator.js';
import { buildHubSimulator, simulatorEnvSchema } from '../hub/simulator.js';

/**
 * `npm run hub:sim`: the GovCarpeta simulator on its own (a development tool; see
 * docs/hub-simulator.md). Point the service at it with GOVCARPETA_URL=http://127.0.0.1:8090.
 * Its peer operator ("Operador Ciudadano", listed in its directory) listens on HUB_SIM_PEER_PORT.
 */
const env = parseEnv(simulatorEnvSchema, process.env);

if (env.NODE_ENV === 'production') {
  console.error('The GovCarpeta simulator is a development tool and refuses NODE_ENV=production.');
  process.exit(2);
}

const sim = buildHubSimulator({ logger: { level: env.LOG_LEVEL } });
let peer: Awaited<ReturnType<typeof startPeerBeside>> | undefined;
// An error while starting (a port in use) is logged by close-with-grace, then both are closed.
closeWithGrace({ delay: 5000 }, async ({ err }) => {
  if (err) console.error(`GovCarpeta simulator: ${err.message}`);
  await peer?.app.close();
  await sim.app.close();
});
const hubUrl = await sim.app.listen({ host: env.HUB_SIM_HOST, port: env.HUB_SIM_PORT });
peer = await startPeerBeside(
  sim,
  hubUrl,
  { host: env.HUB_SIM_HOST, port: env.HUB_SIM_PEER_PORT },
  { level: env.LOG_LEVEL },
);
