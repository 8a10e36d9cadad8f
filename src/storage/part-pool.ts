import { Buffer } from 'node:buffer';
import { AppError } from '../errors.ts';

/**
 * The upload memory budget (`limits.uploadMemory`) as a pool of part buffers. Every byte an upload
 * buffers lives in a buffer leased from here, so the budget bounds upload memory exactly: the pool never
 * holds (allocated, lent or kept for reuse) more than its capacity.
 *
 * - **Reuse, not garbage.** Part-sized buffers (≥ 5 MiB, S3's smallest part) go back to a free list when
 *   returned and are lent again: a 1 GiB upload cycles through the same few buffers instead of leaving
 *   128 fresh 8 MiB allocations to the garbage collector (bench/README measured what that cost). Smaller
 *   leases (a 10 KiB PUT's whole body) are counted against the budget but not kept.
 * - **First come, first served.** `acquire` waits in a FIFO queue when the budget is spent, and fails
 *   with 503 + Retry-After past its wait. `tryAcquire` (the extra buffers a running upload borrows to
 *   send parts in parallel) never waits and refuses while anyone is queued: a new upload's first buffer
 *   comes before a running upload's second, so arrivals slow the running ones down, never fail them.
 * - Free buffers of another size are dropped when a lease needs their room (storages may differ in
 *   part size), and every kept buffer once the pool has lent nothing for `idleMs` (5 minutes): memory
 *   taken by a burst goes back to the system when the uploads have stopped. Not sooner: the first touch
 *   of fresh memory is what a buffer costs most (page faults: 0.7–3.2 s of CPU per GiB on the bench's
 *   VM, against 0.07–0.10 s/GiB to copy into a reused buffer: bench/probes/first-touch.ts), so a pool that emptied
 *   itself after every lull of 30 s made each new burst of form uploads pay it again.
 */

export interface PartLease {
  /** Exactly the size asked for. */
  readonly buffer: Buffer;
  /** Gives the buffer back; idempotent. The buffer must not be used afterwards. */
  release(): void;
}

export interface PoolUse {
  /** Bytes of buffers that exist: lent plus kept for reuse. Never above the capacity. */
  allocated: number;
  /** Bytes lent to uploads right now. */
  lent: number;
  /** The most ever lent at once. */
  peak: number;
  /** Leases queued for room. */
  waiting: number;
}

/** How long the pool lends nothing before it gives its kept buffers back (see the top of the file). */
export const IDLE_TRIM_MS = 5 * 60_000;

/** Buffers at least this big are kept for reuse; smaller ones are dropped on release. */
export const REUSED_BUFFER_BYTES = 5 * 2 ** 20;

interface Waiter {
  size: number;
  grant: (lease: PartLease) => void;
  fail: (error: unknown) => void;
}

const EMPTY: PartLease = { buffer: Buffer.alloc(0), release() {} };

export class PartPool {
  readonly capacity: number;
  #allocated = 0;
  #lent = 0;
  #peak = 0;
  readonly #free = new Map<number, Buffer[]>();
  readonly #waiters: Waiter[] = [];
  readonly #idleMs: number;
  /** Something was lent since the trim timer last looked. */
  #lentSinceCheck = false;
  #trim: NodeJS.Timeout | undefined;

  constructor(capacity: number, options: { idleMs?: number } = {}) {
    this.capacity = capacity;
    this.#idleMs = options.idleMs ?? IDLE_TRIM_MS;
  }

  get use(): PoolUse {
    return { allocated: this.#allocated, lent: this.#lent, peak: this.#peak, waiting: this.#waiters.length };
  }

  /** A buffer now when there is room and nobody is waiting; undefined otherwise. */
  tryAcquire(size: number): PartLease | undefined {
    if (size === 0) return EMPTY;
    if (this.#waiters.length > 0) return undefined;
    return this.#take(size);
  }

  /**
   * A buffer of `size` bytes: at once when there is room, else once earlier waiters are served and
   * room is returned. Rejects with 503 SERVICE_UNAVAILABLE (Retry-After) after `waitMs`, with the
   * signal's reason when it aborts first, and at once when `size` exceeds the whole capacity.
   */
  acquire(size: number, options: { waitMs: number; signal?: AbortSignal }): Promise<PartLease> {
    if (size === 0) return Promise.resolve(EMPTY);
    if (size > this.capacity) {
      return Promise.reject(
        new AppError('SERVICE_UNAVAILABLE', 'the upload needs more buffer memory than the server has', {
          headers: { 'retry-after': '60' },
        }),
      );
    }
    const now = this.tryAcquire(size);
    if (now) return Promise.resolve(now);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        size,
        grant: (lease) => {
          leave();
          resolve(lease);
        },
        fail: (error) => {
          leave();
          reject(error);
          // The head of the queue may have been what held the others back.
          this.#serveWaiters();
        },
      };
      const onAbort = () => waiter.fail(signal?.reason);
      const timer = setTimeout(
        () =>
          waiter.fail(
            new AppError('SERVICE_UNAVAILABLE', 'the server is at its upload capacity; retry shortly', {
              headers: { 'retry-after': String(Math.max(1, Math.ceil(options.waitMs / 1000))) },
            }),
          ),
        options.waitMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Fails every queued acquire with `error` (the process is draining). */
  refuseWaiting(error: unknown): void {
    for (const waiter of [...this.#waiters]) waiter.fail(error);
  }

  #take(size: number): PartLease | undefined {
    let buffer = this.#free.get(size)?.pop();
    if (buffer === undefined) {
      if (!this.#makeRoom(size)) return undefined;
      // Not from Node's shared slab: a part buffer is big, lives long and is freed on its own.
      buffer = Buffer.allocUnsafeSlow(size);
      this.#allocated += size;
    }
    this.#lent += size;
    this.#peak = Math.max(this.#peak, this.#lent);
    this.#lentSinceCheck = true;
    return this.#lease(buffer);
  }

  /** Drops free buffers of other sizes until `size` more bytes fit; false when they cannot. */
  #makeRoom(size: number): boolean {
    if (this.#allocated + size <= this.capacity) return true;
    const kept = this.#allocated - this.#lent;
    if (this.#lent + size > this.capacity || kept === 0) return false;
    for (const [keptSize, buffers] of this.#free) {
      while (buffers.length > 0 && this.#allocated + size > this.capacity) {
        buffers.pop();
        this.#allocated -= keptSize;
      }
      if (buffers.length === 0) this.#free.delete(keptSize);
      if (this.#allocated + size <= this.capacity) return true;
    }
    return this.#allocated + size <= this.capacity;
  }

  #lease(buffer: Buffer): PartLease {
    let released = false;
    return {
      buffer,
      release: () => {
        if (released) return;
        released = true;
        const size = buffer.length;
        this.#lent -= size;
        if (size >= REUSED_BUFFER_BYTES) {
          const list = this.#free.get(size);
          if (list) list.push(buffer);
          else this.#free.set(size, [buffer]);
          this.#scheduleTrim();
        } else {
          this.#allocated -= size;
        }
        this.#serveWaiters();
      },
    };
  }

  /**
   * Drops every kept buffer once a whole idleMs passed without lending (so within 2 × idleMs of the
   * last lease); the timer never keeps the process alive.
   */
  #scheduleTrim(): void {
    if (this.#trim !== undefined) return;
    this.#lentSinceCheck = false;
    this.#trim = setTimeout(() => {
      this.#trim = undefined;
      if (this.#lentSinceCheck) {
        this.#scheduleTrim();
        return;
      }
      for (const [size, buffers] of this.#free) this.#allocated -= size * buffers.length;
      this.#free.clear();
    }, this.#idleMs);
    this.#trim.unref();
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0] as Waiter;
      const lease = this.#take(next.size);
      if (lease === undefined) return;
      next.grant(lease);
    }
  }
}
