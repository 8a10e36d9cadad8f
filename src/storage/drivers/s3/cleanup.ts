import { AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import type { S3Context } from './context.ts';
import { isUnreachable, toAppError } from './errors.ts';
import { type Reservation, release } from './reservation.ts';

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
  /** Runs the steps in order; resolves after the first try (never rejects), retrying what needs it. */
  run(steps: ReadonlyArray<CleanupStep>): Promise<void>;
  /** Drops the retries still waiting (the driver is closing). */
  close(): void;
}

/** Resolves when done; rejects with the S3 failure otherwise. */
export type CleanupStep = () => Promise<unknown>;

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export function createCleanups(retryForMs: number): Cleanups {
  const waiting = new Set<NodeJS.Timeout>();
  let closed = false;

  const attempt = async (steps: ReadonlyArray<CleanupStep>, giveUpAt: number, delay: number) => {
    for (const [index, step] of steps.entries()) {
      try {
        await step();
      } catch (error) {
        if (!isUnreachable(toAppError(error, { operation: 'Cleanup' }))) continue;
        if (closed || Date.now() + delay > giveUpAt) return;
        // In order: the reservation goes only once the upload is gone (it keeps other writers off the key).
        const timer = setTimeout(() => {
          waiting.delete(timer);
          void attempt(steps.slice(index), giveUpAt, Math.min(delay * 2, MAX_RETRY_MS));
        }, delay);
        timer.unref();
        waiting.add(timer);
        return;
      }
    }
  };

  return {
    run: (steps) => attempt(steps, Date.now() + retryForMs, FIRST_RETRY_MS),
    close() {
      closed = true;
      for (const timer of waiting) clearTimeout(timer);
      waiting.clear();
    },
  };
}

/**
 * Cleans up after a failed multipart upload (see above); never rejects. Without an upload id there is
 * nothing to abort: no CreateMultipartUpload was sent, or its answer was lost (S3 created the upload,
 * then the connection broke), and then only the bucket's lifecycle rule can remove it.
 */
export function cleanUpUpload(
  context: S3Context,
  key: string,
  uploadId: string | undefined,
  reservation: Reservation | undefined,
): Promise<void> {
  const abort = (UploadId: string) => () =>
    context.client.send(new AbortMultipartUploadCommand({ Bucket: context.bucket, Key: key, UploadId }));
  return context.cleanups.run([
    ...(uploadId !== undefined ? [abort(uploadId)] : []),
    ...(reservation !== undefined ? [() => release(context, reservation)] : []),
  ]);
}
