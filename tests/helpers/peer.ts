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
