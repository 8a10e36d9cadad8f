import type { Config } from '../config/schema.ts';
import { AppError } from '../errors.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * Admission control for uploads: the one place that bounds how many run and how much memory they
 * may hold. Each upload reserves its buffer size (an S3 upload holds up to (queueSize + 1) × partSize)
 * against a global budget, waiting briefly when the budget is spent and refused with 503 +
 * Retry-After past that; per-principal and per-storage concurrency limits cap any one caller or
 * bucket. Every admitted upload gets an AbortSignal that fires on its deadline (408) or when the
 * process drains (503), so nothing runs forever and a shutdown can abort what is left cleanly.
 */

export interface UploadTicket {
  readonly signal: AbortSignal;
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: () => void;
  refuse: (error: AppError) => void;
}

const MiB = 2 ** 20;

/** What one upload into this storage may buffer in memory. */
export function uploadBufferBytes(storage: Storage): number {
  const { profile } = storage;
  return profile.driver === 's3' ? (profile.queueSize + 1) * profile.partSize : MiB;
}

export class UploadAdmission {
  #usedBytes = 0;
  #draining = false;
  readonly #waiters: Waiter[] = [];
  readonly #byPrincipal = new Map<string, number>();
  readonly #byStorage = new Map<string, number>();
  readonly #inFlight = new Set<AbortController>();
  #idle: (() => void) | undefined;
  readonly #limits: Config['limits'];
  readonly #uploadTimeoutMs: number;

  constructor(config: Pick<Config, 'limits' | 'server'>) {
    this.#limits = config.limits;
    this.#uploadTimeoutMs = config.server.requestTimeout * 1000;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /**
   * `bodyBytes` (the request's Content-Length, when it has one) caps the reservation: a 10 KiB
   * upload never holds more than 10 KiB of buffers, so small uploads are not limited by large ones'
   * budget.
   */
  async admit(storage: Storage, principal: string, bodyBytes?: number): Promise<UploadTicket> {
    if (this.#draining) throw unavailable('the server is shutting down; retry on another instance', 1);
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
    const bytes = Math.min(
      uploadBufferBytes(storage),
      bodyBytes ?? Number.POSITIVE_INFINITY,
      this.#limits.uploadMemory,
    );
    count(this.#byPrincipal, principal, +1);
    count(this.#byStorage, storage.name, +1);
    try {
      await this.#reserve(bytes);
    } catch (error) {
      count(this.#byPrincipal, principal, -1);
      count(this.#byStorage, storage.name, -1);
      throw error;
    }
    return this.#ticket(bytes, storage.name, principal);
  }

  /** Refuse new uploads from now on (readiness turns false at the same time). */
  startDraining(): void {
    this.#draining = true;
    for (const waiter of this.#waiters.splice(0))
      waiter.refuse(unavailable('the server is shutting down; retry on another instance', 1));
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

  #reserve(bytes: number): Promise<void> {
    if (this.#waiters.length === 0 && this.#usedBytes + bytes <= this.#limits.uploadMemory) {
      this.#usedBytes += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        grant: () => {
          clearTimeout(timer);
          this.#usedBytes += bytes;
          resolve();
        },
        refuse: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(unavailable('the server is at its upload capacity; retry shortly', 2));
      }, this.#limits.uploadQueueTimeout * 1000);
      this.#waiters.push(waiter);
    });
  }

  #ticket(bytes: number, storageName: string, principal: string): UploadTicket {
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
      release: () => {
        if (released) return;
        released = true;
        clearTimeout(deadline);
        this.#inFlight.delete(controller);
        this.#usedBytes -= bytes;
        count(this.#byPrincipal, principal, -1);
        count(this.#byStorage, storageName, -1);
        this.#wakeWaiters();
        if (this.#inFlight.size === 0) this.#idle?.();
      },
    };
  }

  /** First come, first served: the head of the queue goes first, so large uploads are not starved. */
  #wakeWaiters(): void {
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0] as Waiter;
      if (this.#usedBytes + next.bytes > this.#limits.uploadMemory) return;
      this.#waiters.shift();
      next.grant();
    }
  }
}

function count(map: Map<string, number>, key: string, delta: number): void {
  const value = (map.get(key) ?? 0) + delta;
  if (value <= 0) map.delete(key);
  else map.set(key, value);
}

const unavailable = (message: string, retryAfterSeconds: number) =>
  new AppError('SERVICE_UNAVAILABLE', message, { headers: { 'retry-after': String(retryAfterSeconds) } });
