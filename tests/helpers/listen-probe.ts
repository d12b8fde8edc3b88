import Fastify from 'fastify';
import { listenOnSockets } from '../../src/app/listen.js';

/**
 * Run as its own process (possibly on another Node.js): a Fastify app listening through
 * listenOnSockets() on 127.0.0.1 and a free port. Prints `{"sockets":n,"port":p}` once
 * listening. A line `close` on stdin closes the app and prints `closed`; the process then stays
 * up (so the test can see what still listens) until it is killed.
 */
const app = Fastify({ logger: false, forceCloseConnections: 'idle' });
app.get('/who', async () => ({ pid: process.pid }));
const sockets = await listenOnSockets(app, {
  host: '127.0.0.1',
  port: 0,
  sockets: Number(process.env.SOCKETS ?? 4),
});
process.stdin.on('data', async (line) => {
  if (String(line).trim() !== 'close') return;
  await app.close();
  setInterval(() => {}, 60_000);
  process.stdout.write('closed\n');
});
const { port } = app.server.address() as { port: number };
process.stdout.write(`${JSON.stringify({ sockets, port })}\n`);
