/**
 * The memory one S3 read connection receives into (read-connections.ts): a few fixed buffers, reused
 * read after read, instead of the fresh 64 KiB buffer Node allocates outside V8's heap for every socket
 * read — which makes V8 run a full mark-compact per ≈ 64 MiB downloaded (README, "Downloads and the
 * garbage collector").
 *
 * A slot is reused only once nobody holds bytes in it: each chunk handed downstream holds its slot
 * until the write that sent it calls back (slot-body.ts). The socket always reads into a free slot
 * (the target), and reading stops while the target is the only free one, so the next read never has
 * to go into memory still held. The slots are also the download's backpressure: at most all but one
 * of them are in flight towards the client.
 */

/** Socket reads go into slots of this size (what Node reads per call anyway). */
export const SLOT_BYTES = 64 * 1024;
/** Four in flight and the target. */
export const SLOT_COUNT = 5;

export class ReadSlots {
  readonly #buffers: Buffer[];
  readonly #holds: number[];
  /** Slots whose holds are 0 (kept as a count: it is asked after every read). */
  #free: number;
  #target = 0;

  constructor(count = SLOT_COUNT, bytes = SLOT_BYTES) {
    // One allocation per connection, kept for its life.
    const memory = Buffer.allocUnsafeSlow(count * bytes);
    this.#buffers = Array.from({ length: count }, (_, n) => memory.subarray(n * bytes, (n + 1) * bytes));
    this.#holds = this.#buffers.map(() => 0);
    this.#free = count;
  }

  /** The slot the socket reads into next. */
  get target(): number {
    return this.#target;
  }

  buffer(slot: number): Buffer {
    return this.#buffers[slot] as Buffer;
  }

  hold(slot: number): void {
    const holds = this.#holds[slot] ?? 0;
    if (holds === 0) this.#free--;
    this.#holds[slot] = holds + 1;
  }

  /** True when the slot became free. */
  release(slot: number): boolean {
    const holds = (this.#holds[slot] ?? 0) - 1;
    if (holds < 0) throw new Error(`read slot ${slot} released more often than held`);
    this.#holds[slot] = holds;
    if (holds === 0) this.#free++;
    return holds === 0;
  }

  /** Slots nobody holds, the target included. */
  free(): number {
    return this.#free;
  }

  allFree(): boolean {
    return this.#free === this.#holds.length;
  }

  /** Reading may go on: besides the target, another slot is free for the read after the next. */
  mayRead(): boolean {
    return this.free() >= 2;
  }

  /**
   * After a read: the buffer the next read goes into — the target again if nothing of it is held,
   * else a free one. Reading stops before none is free (mayRead), so there always is one.
   */
  advance(): Buffer {
    if (this.#holds[this.#target] !== 0) {
      const free = this.#holds.indexOf(0);
      if (free < 0) throw new Error('no free read slot: reading went on while every slot was held');
      this.#target = free;
    }
    return this.buffer(this.#target);
  }
}
