import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between a client (Stowage) and a server (S3) that fails on demand, switchable at
 * runtime:
 * - `pass`: forwards both ways;
 * - `stall`: stops forwarding on every connection (what arrives is held back; new connections are
 *   accepted and not connected upstream) — a server that hangs. A connection its client gives up on
 *   meanwhile is closed at both ends; `pass` forwards what was held on the others and goes on;
 * - `reset`: destroys every connection with a TCP RST, and resets new ones as they arrive;
 * - `refuse`: stops listening (connection refused) and resets open connections — a server that is down;
 * - `{ cutAfter, direction }`: forwards, then resets a connection once `cutAfter` more bytes have gone
 *   `up` (client → server) or `down` (server → client) on it; counted from the switch for open
 *   connections, from the start for new ones — a connection dying mid-stream;
 * - `{ loseAnswerTo }`: forwards, but resets a connection as its answer starts coming back to a
 *   request whose bytes match — the server acted, and the client never learns what it did.
 */
export type ProxyMode =
  | 'pass'
  | 'stall'
  | 'reset'
  | 'refuse'
  | { cutAfter: number; direction: 'up' | 'down' }
  | { loseAnswerTo: RegExp };

export interface TcpProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly mode: ProxyMode;
  setMode(mode: ProxyMode): Promise<void>;
  /** Connections accepted so far. */
  readonly accepted: number;
  /**
   * Calls `watcher` with every chunk forwarded client → server and the number of its connection (to
   * reassemble what a connection sent), until the returned function is called.
   */
  watchUp(watcher: (data: Buffer, connection: number) => void): () => void;
  close(): Promise<void>;
}

interface Connection {
  /** 1, 2, … in order of acceptance. */
  number: number;
  client: Socket;
  server: Socket | undefined;
  /** Bytes forwarded per direction since the mode last changed. */
  sent: { up: number; down: number };
  /** What arrived per direction during a stall, forwarded when it ends. */
  held: { up: Buffer[]; down: Buffer[] };
  flush: { up?: () => void; down?: () => void };
  /** A request whose answer is to be lost went up this connection. */
  doomed: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  let accepted = 0;
  const connections = new Set<Connection>();
  const upWatchers = new Set<(data: Buffer, connection: number) => void>();

  const kill = (connection: Connection) => {
    connections.delete(connection);
    for (const socket of [connection.client, connection.server]) {
      if (socket && !socket.destroyed) socket.resetAndDestroy();
    }
  };

  /** Forwards `from` → `to`, honouring stall and cut, with backpressure. */
  const forward = (connection: Connection, from: Socket, to: Socket, direction: 'up' | 'down') => {
    const send = (data: Buffer) => {
      if (mode === 'stall') {
        connection.held[direction].push(data);
        return;
      }
      if (typeof mode === 'object' && 'loseAnswerTo' in mode) {
        if (direction === 'up' && mode.loseAnswerTo.test(data.toString('latin1'))) connection.doomed = true;
        if (direction === 'down' && connection.doomed) return kill(connection);
      } else if (typeof mode === 'object' && mode.direction === direction) {
        const room = mode.cutAfter - connection.sent[direction];
        if (room < data.length) {
          if (room > 0) to.write(data.subarray(0, room), () => kill(connection));
          else kill(connection);
          connection.sent[direction] += Math.max(room, 0);
          return;
        }
      }
      connection.sent[direction] += data.length;
      if (direction === 'up') for (const watcher of upWatchers) watcher(data, connection.number);
      if (!to.write(data) && !from.isPaused()) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    };
    connection.flush[direction] = () => {
      for (const data of connection.held[direction].splice(0)) send(data);
    };
    from.on('data', send);
    from.on('end', () => to.end());
  };

  const attach = (connection: Connection) => {
    const server = connect(target.port, target.host);
    connection.server = server;
    server.on('error', () => kill(connection));
    server.on('close', () => kill(connection));
    forward(connection, connection.client, server, 'up');
    forward(connection, server, connection.client, 'down');
  };

  const listener: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    accepted++;
    const connection: Connection = {
      number: accepted,
      client,
      server: undefined,
      sent: { up: 0, down: 0 },
      held: { up: [], down: [] },
      flush: {},
      doomed: false,
    };
    connections.add(connection);
    client.on('error', () => kill(connection));
    client.on('close', () => kill(connection));
    if (mode === 'reset' || mode === 'refuse') return kill(connection);
    // Read from the start (so a client that gives up is noticed); held back until attached.
    client.on('data', (data: Buffer) => {
      if (connection.server === undefined) connection.held.up.push(data);
    });
    client.resume();
    if (mode !== 'stall') attach(connection);
  });
  await listen(listener, 0);
  const { port } = listener.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    watchUp(watcher) {
      upWatchers.add(watcher);
      return () => upWatchers.delete(watcher);
    },
    async setMode(next) {
      const previous = mode;
      mode = next;
      for (const connection of connections) connection.sent = { up: 0, down: 0 };
      if (next === 'reset' || next === 'refuse') for (const connection of [...connections]) kill(connection);
      if (previous === 'stall' && next !== 'stall') {
        for (const connection of [...connections]) {
          if (connection.server === undefined) attach(connection);
          connection.flush.up?.();
          connection.flush.down?.();
        }
      }
      if (next === 'refuse' && listener.listening) await new Promise((resolve) => listener.close(resolve));
      if (next !== 'refuse' && !listener.listening) await listen(listener, port);
    },
    async close() {
      for (const connection of [...connections]) kill(connection);
      if (listener.listening) await new Promise((resolve) => listener.close(resolve));
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
