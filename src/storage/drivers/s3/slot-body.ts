import { OutgoingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import type { ReadConnection, Receiver } from './read-connections.ts';

/**
 * The body of a GetObject answer read on a connection of read-connections.ts: its bytes are views of
 * the connection's slots (read-slots.ts), and a slot is read into again only once every view of it
 * is done with. How a view is done with depends on the reader:
 *
 * - **piped into an HTTP response or a socket** (how serve-object.ts sends a download: fastify pipes
 *   the body into the response): each view is written with a callback, and its slot is held until the
 *   callback fires — the bytes may sit in the response's or the socket's buffers, or in a write libuv
 *   has not finished, until then. The slots bound what is in flight (all but one of them), so nothing
 *   else is needed for backpressure. Only those two destinations are piped this way: a Transform may
 *   call back and still pass the same bytes on (PassThrough does), so any other destination is piped
 *   the ordinary way, with copies.
 * - **any other reader** (`for await`, 'data', other destinations): each view is copied out as it is
 *   pushed, and its slot released at once — a reader may keep what it is given as long as it likes.
 *
 * Until one of the two starts, what has arrived is kept (its slots held) and reading waits. The body
 * ends when Content-Length bytes have arrived; a connection that breaks off, stalls or sends more
 * destroys the body with an error, so the client's answer is cut, never short and complete-looking.
 */

type Mode = 'waiting' | 'piped' | 'copied';

export class SlotBody extends Readable implements Receiver {
  readonly #connection: ReadConnection;
  #remaining: number;
  readonly #keepAlive: boolean;
  #mode: Mode = 'waiting';
  /** Copied mode: the reader wants more. */
  #wanted = false;
  /** What arrived before a reader did. */
  readonly #waiting: Array<{ view: Buffer; slot: number }> = [];
  #destination: Writable | undefined;
  #endDestination = true;
  /** Views written and not yet called back. */
  #inFlight = 0;

  constructor(connection: ReadConnection, length: number, keepAlive: boolean) {
    super();
    this.#connection = connection;
    this.#remaining = length;
    this.#keepAlive = keepAlive;
    connection.attach(this);
    if (length === 0) this.#complete(true);
  }

  bytes(view: Buffer, slot: number): void {
    const part = view.length > this.#remaining ? view.subarray(0, this.#remaining) : view;
    this.#remaining -= part.length;
    this.#deliver(part, slot);
    // Bytes past the body: the server is out of step, so the connection carries nothing more.
    if (this.#remaining === 0) this.#complete(part.length === view.length);
  }

  wantsMore(): boolean {
    return this.#mode === 'piped' || (this.#mode === 'copied' && this.#wanted);
  }

  failed(error: Error): void {
    this.destroy(error);
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (
      this.#mode !== 'waiting' ||
      !(destination instanceof OutgoingMessage || destination instanceof Socket)
    )
      return super.pipe(destination, options);
    this.#mode = 'piped';
    this.#destination = destination as unknown as Writable;
    this.#endDestination = options?.end !== false;
    destination.emit('pipe', this);
    // Writes the client went away from may never call back: their slots cannot be trusted again.
    destination.once('close', () => {
      if (this.#inFlight > 0 || !this.readableEnded) this.#giveUpConnection();
    });
    for (const { view, slot } of this.#waiting.splice(0)) this.#write(view, slot);
    if (this.#remaining === 0) this.#endPiped();
    else this.#connection.updateReading();
    return destination;
  }

  override _read(): void {
    if (this.#mode === 'piped') return;
    this.#mode = 'copied';
    this.#wanted = true;
    for (const { view, slot } of this.#waiting.splice(0)) {
      this.#wanted = this.push(Buffer.from(view));
      this.#releaseSlot(slot);
    }
    if (this.#remaining === 0 && this.#waiting.length === 0) this.push(null);
    else this.#connection.updateReading();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const { slot } of this.#waiting.splice(0)) this.#releaseSlot(slot);
    // Unread bytes still on their way: the connection cannot carry another answer. (Writes still in
    // flight after the whole body arrived are the destination's 'close' listener's concern.)
    if (this.#remaining > 0) this.#connection.destroy();
    callback(error);
  }

  #deliver(view: Buffer, slot: number): void {
    if (this.#mode === 'piped') this.#write(view, slot);
    else if (this.#mode === 'copied') this.#wanted = this.push(Buffer.from(view));
    else {
      this.#connection.slots.hold(slot);
      this.#waiting.push({ view, slot });
    }
  }

  #write(view: Buffer, slot: number): void {
    const destination = this.#destination as Writable;
    // Held until the write calls back: only then are the bytes out of the response's and the socket's hands.
    this.#connection.slots.hold(slot);
    this.#inFlight++;
    try {
      destination.write(view, () => {
        this.#inFlight--;
        this.#releaseSlot(slot);
      });
    } catch (error) {
      this.#inFlight--;
      this.#releaseSlot(slot);
      this.destroy(error as Error);
    }
  }

  #complete(inStep: boolean): void {
    // Nothing more to read: the connection goes back once every slot it lent is free again.
    this.#connection.finish(this.#keepAlive && inStep);
    if (this.#mode === 'piped') this.#endPiped();
    else if (this.#mode === 'copied' && this.#waiting.length === 0) this.push(null);
  }

  #endPiped(): void {
    this.push(null);
    // No reader of our own: flowing makes 'end' (and then 'close') come, as a piped stream's would.
    this.resume();
    if (this.#endDestination) this.once('end', () => this.#destination?.end());
  }

  #releaseSlot(slot: number): void {
    this.#connection.release(slot);
  }

  #giveUpConnection(): void {
    this.#connection.destroy();
  }
}
