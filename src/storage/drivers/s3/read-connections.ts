import net from 'node:net';
import tls from 'node:tls';
import { ReadSlots } from './read-slots.ts';

/**
 * Keep-alive connections to one S3 origin that read into memory of their own (read-slots.ts), through
 * the `onread` option of `net.connect`/`tls.connect`: the socket reads straight into a slot, so a
 * download allocates nothing per read. What is read goes to the connection's receiver (the answer
 * being read, quick-get.ts and slot-body.ts); a connection back in the pool reads only to notice that
 * S3 closed it.
 *
 * Reading stops only from inside a read (the callback answering false), when the receiver wants no
 * more or the slots are busy, and starts again when that changes (`updateReading`). The socket's own
 * stream is kept flowing from the start, so a `resume()` only restarts reading and never schedules a
 * read of its own that could restart it against a later stop.
 */

/** Connections kept per pool, in use and idle (the SDK client keeps its own 64). */
export const MAX_READ_CONNECTIONS = 64;
/** An idle connection is closed after this (undici's default keep-alive): S3 may close it first. */
const IDLE_MS = 4000;

export interface Receiver {
  /** Bytes read into `slot` (`view` is part of it): hold the slot for what is kept past this call. */
  bytes(view: Buffer, slot: number): void;
  /** More bytes are wanted now (else reading stops after this read). */
  wantsMore(): boolean;
  /** The connection failed, closed or stalled past the deadline (a TimeoutError); it is destroyed. */
  failed(error: Error): void;
}

export interface ReadOrigin {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** A connection not established within this is given up (the caller asks the SDK). */
  connectTimeoutMs: number;
  /** Inactivity while a receiver waits for bytes: past it, `failed` gets a TimeoutError. */
  stallTimeoutMs: number;
  /** Named in the TimeoutError's message. */
  operation: string;
}

export class ReadConnection {
  readonly slots = new ReadSlots();
  readonly socket: net.Socket;
  #receiver: Receiver | undefined;
  #reading = true;
  #closed = false;
  /** Set when the answer is read: back to the pool (true) or closed (false) once every slot is free. */
  #returning: boolean | undefined;
  readonly #pool: Pool;

  constructor(origin: ReadOrigin, pool: Pool) {
    this.#pool = pool;
    const onread = {
      buffer: () => this.slots.advance(),
      callback: (length: number) => this.#read(length),
    };
    const options = { host: origin.hostname, port: origin.port, onread };
    this.socket =
      origin.protocol === 'https:'
        ? tls.connect({ ...options, servername: origin.hostname, ALPNProtocols: ['http/1.1'] })
        : net.connect(options);
    this.socket.setNoDelay(true);
    this.socket.resume();
    this.socket.on('error', (error) => this.#fail(error));
    this.socket.on('end', () => this.#fail(closedEarly()));
    this.socket.on('close', () => this.#fail(closedEarly()));
    this.socket.on('timeout', () =>
      this.#fail(
        this.#receiver === undefined
          ? closedEarly()
          : Object.assign(new Error(`S3 did not send the ${origin.operation} in time`), {
              name: 'TimeoutError',
            }),
      ),
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Reads go to `receiver` until `finish` or a failure; the stall deadline runs while it waits. */
  attach(receiver: Receiver): void {
    this.#receiver = receiver;
    this.#returning = undefined;
    this.socket.setTimeout(this.#pool.origin.stallTimeoutMs);
  }

  /**
   * The answer is read: the connection goes back to the pool (`reusable`) or is closed, as soon as
   * nothing of it is held downstream any more.
   */
  finish(reusable: boolean): void {
    this.#receiver = undefined;
    this.#returning = reusable;
    this.socket.setTimeout(0);
    this.#settle();
  }

  /** A chunk handed out of `slot` is done with (written, or copied). */
  release(slot: number): void {
    if (!this.slots.release(slot)) return;
    this.#settle();
    this.updateReading();
  }

  /** Starts reading again when the receiver wants more and the slots allow it. */
  updateReading(): void {
    if (this.#reading || this.#closed || !this.#mayRead()) return;
    this.#reading = true;
    if (this.#receiver !== undefined) this.socket.setTimeout(this.#pool.origin.stallTimeoutMs);
    this.socket.resume();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#receiver = undefined;
    this.socket.destroy();
    this.#pool.forget(this);
  }

  #mayRead(): boolean {
    return this.slots.mayRead() && (this.#receiver?.wantsMore() ?? true);
  }

  #read(length: number): boolean {
    const slot = this.slots.target;
    this.slots.hold(slot);
    try {
      const receiver = this.#receiver;
      // An idle connection has nothing to be told: bytes there are a server out of step.
      if (receiver === undefined) this.destroy();
      else receiver.bytes(this.slots.buffer(slot).subarray(0, length), slot);
    } finally {
      this.slots.release(slot);
    }
    if (this.#closed) return false;
    this.#settle();
    if (this.#mayRead()) return true;
    this.#reading = false;
    // Waiting on our own reader (backpressure) is not S3 stalling.
    this.socket.setTimeout(0);
    return false;
  }

  #settle(): void {
    if (this.#returning === undefined || this.#closed || !this.slots.allFree()) return;
    const reusable = this.#returning;
    this.#returning = undefined;
    if (reusable) this.#pool.idle(this);
    else this.destroy();
  }

  #fail(error: Error): void {
    const receiver = this.#receiver;
    this.destroy();
    receiver?.failed(error);
  }

  /** While idle: closed after IDLE_MS. */
  rest(): void {
    this.socket.setTimeout(IDLE_MS);
    this.updateReading();
  }
}

const closedEarly = () =>
  Object.assign(new Error('S3 closed the connection before the answer was complete'), {
    code: 'ECONNRESET',
  });

export class Pool {
  readonly origin: ReadOrigin;
  readonly #idle: ReadConnection[] = [];
  readonly #all = new Set<ReadConnection>();

  constructor(origin: ReadOrigin) {
    this.origin = origin;
  }

  /**
   * An idle connection, else a new one once connected; undefined when none can be had (at capacity,
   * refused, reset, not connected in time): the caller asks the SDK. Rejects only when `signal` aborts.
   */
  async acquire(
    signal: AbortSignal | undefined,
  ): Promise<{ connection: ReadConnection; reused: boolean } | undefined> {
    for (let idle = this.#idle.pop(); idle !== undefined; idle = this.#idle.pop()) {
      if (!idle.closed) return { connection: idle, reused: true };
    }
    if (this.#all.size >= MAX_READ_CONNECTIONS) return undefined;
    const connection = new ReadConnection(this.origin, this);
    this.#all.add(connection);
    const connected = await new Promise<boolean | Error>((resolve) => {
      const event = this.origin.protocol === 'https:' ? 'secureConnect' : 'connect';
      const settle = (outcome: boolean | Error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const timer = setTimeout(() => settle(false), this.origin.connectTimeoutMs);
      const onAbort = () => settle(abortError(this.origin.operation));
      signal?.addEventListener('abort', onAbort, { once: true });
      connection.socket.once(event, () => settle(true));
      connection.socket.once('close', () => settle(false));
    });
    if (connected === true && !connection.closed) return { connection, reused: false };
    connection.destroy();
    if (connected instanceof Error) throw connected;
    return undefined;
  }

  idle(connection: ReadConnection): void {
    this.#idle.push(connection);
    connection.rest();
  }

  forget(connection: ReadConnection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
  }

  close(): void {
    for (const connection of [...this.#all]) connection.destroy();
  }
}

export const abortError = (operation: string) =>
  Object.assign(new Error(`The ${operation} was aborted`), { name: 'AbortError' });
