import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useStowage } from '../support/stowage.ts';

/**
 * Slow-loris guards over real sockets: the headers deadline holds to within a second of what is
 * configured (Node alone checks it only every 30 s), and connections past server.maxConnections are
 * closed unanswered while the ones already held are served.
 */

const storages = () => ({ files: { driver: 'local' as const } });

/** A TCP connection to `url` and everything it receives, until the server closes it. */
function openSocket(url: string): { socket: Socket; closed: Promise<string>; connected: Promise<void> } {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) =>
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8'))),
  );
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, connected };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('headers deadline', () => {
  const stowage = useStowage({ storages, config: { server: { headersTimeout: '2s' } } });

  it('cuts a client sending its headers one byte per second within about a second of server.headersTimeout', async () => {
    const client = openSocket(stowage.url);
    await client.connected;
    const started = Date.now();
    let cutAt: number | undefined;
    void client.closed.then(() => {
      cutAt = Date.now();
    });
    // A request head that never ends, one byte a second; given up after 10 s so a server that only
    // checks every 30 s fails here rather than by the test's timeout.
    const head = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(64)}`;
    for (const byte of head) {
      if (cutAt !== undefined || Date.now() - started > 10_000) break;
      client.socket.write(byte);
      await sleep(1000);
    }
    const open = cutAt === undefined;
    client.socket.destroy();
    const answer = await client.closed;
    expect(open, 'still open after 10 s').toBe(false);
    // 2 s configured, swept every 0.5 s: cut before 3.5 s (Node's default sweep cut it at ~30 s).
    expect((cutAt ?? Date.now()) - started).toBeLessThan(3_500);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
  });
  it('cuts a connection that sends nothing just as soon (idle sockets are not held)', async () => {
    const client = openSocket(stowage.url);
    await client.connected;
    const started = Date.now();
    // Given up after 10 s, as above.
    const answer = await Promise.race([client.closed, sleep(10_000).then(() => undefined)]);
    const elapsed = Date.now() - started;
    client.socket.destroy();
    expect(answer, 'still open after 10 s').toBeDefined();
    expect(elapsed).toBeLessThan(3_500);
  });
});

describe('connection cap', () => {
  const stowage = useStowage({ storages, config: { server: { maxConnections: 3 } } });

  it('closes a connection past server.maxConnections unanswered and still serves the ones it holds', async () => {
    const held = [openSocket(stowage.url), openSocket(stowage.url), openSocket(stowage.url)];
    await Promise.all(held.map((client) => client.connected));
    // Accepted by the server (not only by the kernel's backlog) before the next one arrives.
    const count = () =>
      new Promise<number>((resolve, reject) =>
        stowage.app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
    for (let attempt = 0; attempt < 100 && (await count()) < 3; attempt++) await sleep(20);
    expect(await count()).toBe(3);

    const extra = openSocket(stowage.url);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await extra.closed).toBe(''); // closed without a byte of answer
    expect(stowage.logs.filter((line) => line.includes('server.maxConnections (3) reached'))).toHaveLength(1);

    for (const client of held)
      client.socket.end('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    for (const answer of await Promise.all(held.map((client) => client.closed)))
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});
