import net from 'node:net';
import type { FastifyInstance } from 'fastify';

/** `listen({ reusePort })` (SO_REUSEPORT) came in Node 22.12 and 23.1. */
export function reusePortSupported(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}

/**
 * Listens on host:port with `sockets` listening sockets that all feed the app's one HTTP server.
 *
 * Why: libuv (1.45 and later) accepts ONE connection per listening socket per event-loop turn.
 * At full CPU a turn takes tens of milliseconds, so a burst of new connections waits in the
 * kernel's accept queue until clients time out. With SO_REUSEPORT the kernel spreads new
 * connections over the sockets, and each turn accepts one per socket (how many sockets, measured:
 * docs/performance.md, "1,000 fresh connections").
 *
 * Returns how many sockets listen: one where the runtime cannot share a port.
 */
export async function listenOnSockets(
  app: FastifyInstance,
  options: { host: string; port: number; sockets: number },
): Promise<number> {
  const count = options.sockets > 1 && reusePortSupported() ? options.sockets : 1;
  const extra: net.Server[] = [];
  // Stop accepting on every socket when the app starts closing, as its own socket does.
  app.addHook('preClose', async () => {
    for (const server of extra) server.close();
  });
  // `reusePort` is unknown to the Node 20 type definitions this repository compiles against.
  const shared = count > 1 ? ({ reusePort: true } as object) : {};
  await app.listen({ host: options.host, port: options.port, ...shared });
  const { port } = app.server.address() as net.AddressInfo;
  for (let i = 1; i < count; i++) {
    const server = net.createServer((socket) => app.server.emit('connection', socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port, ...shared }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    extra.push(server);
  }
  return count;
}
