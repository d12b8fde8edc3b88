import { createServer } from 'node:net';
import { buildPeerSimulator, type PeerSimulator } from '../../src/hub/peer-simulator.js';
import type { startHub } from './hub.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

/** The peer operator of the tests, listed in `hub`'s directory with its transfer URL. */
export async function startPeer(
  hub: Hub,
  operator = { id: 'op-peer-neighbour', name: 'Operador Vecino' },
): Promise<PeerSimulator & { operator: typeof operator; hostPort: string }> {
  const peer = buildPeerSimulator({ hubUrl: hub.url, operator });
  await peer.app.listen({ host: '127.0.0.1', port: 0 });
  hub.directory.push({
    _id: operator.id,
    operatorName: ` ${operator.name}`,
    transferAPIURL: `${peer.baseUrl}/api/transferCitizen `,
  });
  return Object.assign(peer, { operator, hostPort: new URL(peer.baseUrl).host });
}

/** A TCP port free right now (for a server whose URL its config must know before it listens). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
