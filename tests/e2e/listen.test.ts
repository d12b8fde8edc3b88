import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { reusePortSupported } from '../../src/app/listen.js';
import { projectRoot } from '../../tools/shared/paths.js';

/**
 * LISTEN_SOCKETS (src/listen.ts). The image runs Node 24, this machine Node 20: the several-socket
 * path runs on IMAGE_NODE, the image's Node.js, which .ci/run fetches (without it, outside CI,
 * that part is skipped; under CI it fails).
 */
const imageNode = process.env.IMAGE_NODE;

/** Listening TCP sockets on 127.0.0.1:port, from the kernel's table. */
function listeningSockets(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .filter((line) => {
      const cols = line.trim().split(/\s+/);
      return cols[1] === local && cols[3] === '0A'; // 0A: LISTEN
    }).length;
}

async function probe(node: string, sockets: number) {
  const child = spawn(node, ['--import', 'tsx', 'tests/helpers/listen-probe.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', SOCKETS: String(sockets) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stderr.on('data', (d) => {
    out += d;
  });
  const line = () =>
    new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(String(d)));
      child.once('exit', () => reject(new Error(`probe exited:\n${out}`)));
    });
  const started = JSON.parse(await line()) as { sockets: number; port: number };
  /** Closes the app (not the process) and resolves once it is closed. */
  const close = async () => {
    const closed = line();
    child.stdin.write('close\n');
    expect(await closed).toBe('closed\n');
  };
  return { ...started, close };
}

/** `count` requests at once, each on a connection of its own; resolves with the answers. */
function burst(port: number, count: number): Promise<string[]> {
  const one = () =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.end('GET /who HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (d) => {
        data += d;
      });
      socket.on('end', () => resolve(data.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
  return Promise.all(Array.from({ length: count }, one));
}

describe('listening sockets (LISTEN_SOCKETS)', () => {
  it('knows which Node.js can share a port (22.12+, 23.1+)', () => {
    expect(['20.20.2', '22.11.0', '23.0.0'].map((v) => reusePortSupported(v))).toEqual([
      false,
      false,
      false,
    ]);
    expect(['22.12.0', '23.1.0', '24.0.0', '25.2.1'].map((v) => reusePortSupported(v))).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('listens on one socket where the runtime cannot share a port, and serves', async () => {
    if (reusePortSupported()) return; // this runtime takes the several-socket path below
    const p = await probe(process.execPath, 4);
    expect(p.sockets).toBe(1);
    expect(listeningSockets(p.port)).toBe(1);
    expect(await burst(p.port, 50)).toEqual(Array(50).fill('HTTP/1.1 200 OK'));
    await p.close();
    expect(listeningSockets(p.port)).toBe(0);
  });

  describe.skipIf(!imageNode && process.env.CI !== 'true')('on the image’s Node.js', () => {
    it('opens every socket on one port, serves a burst of new connections through them, and closes them all', async () => {
      if (!imageNode) throw new Error('IMAGE_NODE is unset: .ci/run fetches the image’s Node.js');
      const p = await probe(imageNode, 4);
      expect(p.sockets).toBe(4);
      expect(listeningSockets(p.port)).toBe(4);
      expect(await burst(p.port, 200)).toEqual(Array(200).fill('HTTP/1.1 200 OK'));
      // Closing the app stops every socket from accepting, not only Fastify's own.
      await p.close();
      expect(listeningSockets(p.port)).toBe(0);
    });
  });
});
