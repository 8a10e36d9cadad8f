import type { Readable } from 'node:stream';
import type { Config } from '../config/schema.ts';
import { AppError } from '../errors.ts';
import type { WriteShape } from '../storage/driver.ts';
import { type PartLease, PartPool } from '../storage/part-pool.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * Admission control for uploads: the one place that bounds how many run and how much memory they
 * hold. Each upload is lent its first part buffer from the upload memory pool (part-pool.ts, sized
 * `limits.uploadMemory`, shared with the storages' drivers, which borrow extra buffers from it only
 * while it has room to spare). When the pool is spent a new upload waits, first come first served, with
 * its body unread (TCP backpressure on the client), for up to `limits.uploadQueueTimeout`, and is
 * refused with 503 + Retry-After past that. Per-principal and per-storage concurrency limits cap any one
 * caller or bucket. Every admitted upload gets an AbortSignal that fires on its deadline (408) or when
 * the process drains (503), so nothing runs forever and a shutdown can abort what is left cleanly.
 */

export interface UploadTicket {
  readonly signal: AbortSignal;
  /** The upload's part buffer (`storage.driver.partBufferSize(write)` bytes; empty when it streams). */
  readonly buffer: Buffer;
  release(): void;
}

export class UploadAdmission {
  #draining = false;
  readonly #byPrincipal = new Map<string, number>();
  readonly #byStorage = new Map<string, number>();
  readonly #inFlight = new Set<AbortController>();
  /** Uploads waiting for their buffer: aborted when the process drains. */
  readonly #waiting = new Set<AbortController>();
  #idle: (() => void) | undefined;
  readonly #limits: Config['limits'];
  readonly #uploadTimeoutMs: number;
  readonly pool: PartPool;

  constructor(config: Pick<Config, 'limits' | 'server'>, pool = new PartPool(config.limits.uploadMemory)) {
    this.#limits = config.limits;
    this.#uploadTimeoutMs = config.server.requestTimeout * 1000;
    this.pool = pool;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Admits an upload of this shape: waits for its part buffer (sized by the storage's driver: a 10 KiB
   * PUT never holds more than 10 KiB). `body` is the request: a client that leaves while queued gives
   * up its place at once.
   */
  async admit(
    storage: Storage,
    principal: string,
    write: WriteShape,
    body?: Readable,
  ): Promise<UploadTicket> {
    if (this.#draining) throw shuttingDown('the server is shutting down; retry on another instance');
    if ((this.#byPrincipal.get(principal) ?? 0) >= this.#limits.uploadsPerPrincipal) {
      throw new AppError(
        'TOO_MANY_REQUESTS',
        `too many concurrent uploads (limit ${this.#limits.uploadsPerPrincipal})`,
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    const storageLimit = storage.profile.maxConcurrentUploads;
    if (storageLimit !== undefined && (this.#byStorage.get(storage.name) ?? 0) >= storageLimit) {
      throw unavailable(`storage "${storage.name}" is at its concurrent upload limit`, 1);
    }
    count(this.#byPrincipal, principal, +1);
    count(this.#byStorage, storage.name, +1);
    const waiting = new AbortController();
    const left = () =>
      waiting.abort(
        new AppError(
          'CLIENT_CLOSED_REQUEST',
          'the client closed the connection while waiting for upload capacity',
        ),
      );
    body?.once('close', left);
    this.#waiting.add(waiting);
    let lease: PartLease;
    try {
      lease = await this.pool.acquire(storage.driver.partBufferSize(write), {
        waitMs: this.#limits.uploadQueueTimeout * 1000,
        signal: waiting.signal,
      });
    } catch (error) {
      count(this.#byPrincipal, principal, -1);
      count(this.#byStorage, storage.name, -1);
      throw error;
    } finally {
      body?.off('close', left);
      this.#waiting.delete(waiting);
    }
    return this.#ticket(lease, storage.name, principal);
  }

  /** Refuse new uploads from now on (readiness turns false at the same time). */
  startDraining(): void {
    this.#draining = true;
    for (const waiting of this.#waiting)
      waiting.abort(shuttingDown('the server is shutting down; retry on another instance'));
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Resolves when no upload is in flight. */
  whenIdle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = resolve;
    });
  }

  /** Aborts every in-flight upload with `reason` (their drivers clean up before they answer). */
  abortAll(reason: AppError): void {
    for (const controller of this.#inFlight) controller.abort(reason);
  }

  #ticket(lease: PartLease, storageName: string, principal: string): UploadTicket {
    const controller = new AbortController();
    const deadline = setTimeout(
      () =>
        controller.abort(
          new AppError(
            'REQUEST_TIMEOUT',
            `the upload did not finish within ${this.#uploadTimeoutMs / 1000}s`,
          ),
        ),
      this.#uploadTimeoutMs,
    );
    this.#inFlight.add(controller);
    let released = false;
    return {
      signal: controller.signal,
      buffer: lease.buffer,
      release: () => {
        if (released) return;
        released = true;
        clearTimeout(deadline);
        this.#inFlight.delete(controller);
        lease.release();
        count(this.#byPrincipal, principal, -1);
        count(this.#byStorage, storageName, -1);
        if (this.#inFlight.size === 0) this.#idle?.();
      },
    };
  }
}

function count(map: Map<string, number>, key: string, delta: number): void {
  const value = (map.get(key) ?? 0) + delta;
  if (value <= 0) map.delete(key);
  else map.set(key, value);
}

/**
 * Refused or aborted because the process is draining. `Connection: close` ends the connection with the
 * answer: its unread body is not read on (discardUnreadBody would for up to 10 s, holding the shutdown
 * while a client keeps sending), and the client's retry goes to another instance.
 */
export const shuttingDown = (message: string) =>
  new AppError('SERVICE_UNAVAILABLE', message, { headers: { 'retry-after': '1', connection: 'close' } });

const unavailable = (message: string, retryAfterSeconds: number) =>
  new AppError('SERVICE_UNAVAILABLE', message, { headers: { 'retry-after': String(retryAfterSeconds) } });
