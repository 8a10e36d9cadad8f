import { isUnreachable, toAppError } from './errors.ts';

/**
 * Undoing a multipart upload that failed: abort it (S3 keeps, and bills, its parts until then), then
 * drop its create-only reservation (which holds the key until it expires, an hour and more by
 * default: a client retrying its upload meanwhile would get 409). Tried at once; when S3 cannot be
 * reached, the step that failed and the ones after it are retried in the background, with backoff,
 * until they succeed or the reservation would have expired anyway. Other failures (NoSuchUpload:
 * already gone) end a step. Retries live in this process: if it dies first, the bucket's
 * AbortIncompleteMultipartUpload lifecycle rule takes the multipart upload and the reservation expires.
 */
export interface Cleanups {
  /**
   * Runs the steps in order; resolves after the first try (never rejects), retrying what needs it.
   * With `recheck`, runs its steps that long after `steps` have all succeeded (create-only.ts).
   */
  run(steps: ReadonlyArray<CleanupStep>, options?: { recheck?: Recheck }): Promise<void>;
  /** Drops the retries still waiting (the driver is closing). */
  close(): void;
}

/** Resolves when done; rejects with the S3 failure otherwise. */
export type CleanupStep = () => Promise<unknown>;

export interface Recheck {
  afterMs: number;
  steps: ReadonlyArray<CleanupStep>;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export function createCleanups(retryForMs: number): Cleanups {
  const waiting = new Set<NodeJS.Timeout>();
  let closed = false;

  const later = (ms: number, then: () => void) => {
    if (closed) return;
    const timer = setTimeout(() => {
      waiting.delete(timer);
      then();
    }, ms);
    timer.unref();
    waiting.add(timer);
  };

  const attempt = async (
    steps: ReadonlyArray<CleanupStep>,
    giveUpAt: number,
    delay: number,
    onDone?: () => void,
  ): Promise<void> => {
    for (const [index, step] of steps.entries()) {
      try {
        await step();
      } catch (error) {
        if (!isUnreachable(toAppError(error, { operation: 'Cleanup' }))) continue;
        if (Date.now() + delay > giveUpAt) return;
        // In order: the reservation goes only once the upload is gone (it keeps other writers off the key).
        later(
          delay,
          () => void attempt(steps.slice(index), giveUpAt, Math.min(delay * 2, MAX_RETRY_MS), onDone),
        );
        return;
      }
    }
    onDone?.();
  };

  return {
    run(steps, { recheck } = {}) {
      const giveUpAt = Date.now() + retryForMs;
      const thenRecheck =
        recheck &&
        (() =>
          later(
            recheck.afterMs,
            () => void attempt(recheck.steps, giveUpAt + recheck.afterMs, FIRST_RETRY_MS),
          ));
      return attempt(steps, giveUpAt, FIRST_RETRY_MS, thenRecheck);
    },
    close() {
      closed = true;
      for (const timer of waiting) clearTimeout(timer);
      waiting.clear();
    },
  };
}
