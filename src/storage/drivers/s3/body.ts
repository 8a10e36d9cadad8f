import { Buffer } from 'node:buffer';
import type { Readable } from 'node:stream';

/**
 * Reads the caller's body for an upload. The body belongs to the caller: on our own failures it is
 * left as it is (destroying an HTTP request stream would kill the socket before the error response),
 * but an abort signal destroys it, and a listener keeps a late 'error' from ever crashing the process.
 */
export interface BodyReader {
  /** The next chunk, or undefined at the end; rejects with the body's own error. */
  read(): Promise<Buffer | undefined>;
  /** The next chunk cut to at most `max` bytes (the rest is kept for the next read), or undefined at the end. */
  readAtMost(max: number): Promise<Buffer | undefined>;
  /**
   * Copies the body into `target` until it is full or the body ends; resolves with the bytes copied
   * (less than target.length only at the end). What did not fit is kept for the next read or fill.
   */
  fill(target: Buffer): Promise<number>;
  /** Whether the body has no more bytes (reads ahead one chunk, kept for the next read or fill). */
  ended(): Promise<boolean>;
  /** The body's error (including an abort), once it failed. */
  readonly error: unknown;
  /** Stops listening to the signal and lets go of the body without destroying it. */
  release(): void;
}

export const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

const toBuffer = (chunk: unknown): Buffer =>
  Buffer.isBuffer(chunk)
    ? chunk
    : typeof chunk === 'string'
      ? Buffer.from(chunk)
      : Buffer.from(chunk as Uint8Array);

export function openBody(body: Readable, signal: AbortSignal | undefined): BodyReader {
  let failure: unknown;
  // Stays attached after the upload settles: an error emitted later must not become an uncaught exception.
  body.on('error', (error) => {
    failure ??= error;
  });
  const onAbort = () => {
    if (signal) body.destroy(abortReason(signal) as Error);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  // destroyOnReturn: false ⇒ giving up on the iterator leaves the body to the caller.
  const iterator = body.iterator({ destroyOnReturn: false });

  // Bytes read from the body but not handed out yet (the rest of a chunk a fill did not take).
  let pending: Buffer | undefined;
  let done = false;

  const readChunk = async (): Promise<Buffer | undefined> => {
    if (done) return undefined;
    try {
      const next = await iterator.next();
      if (next.done) done = true;
      return next.done ? undefined : toBuffer(next.value);
    } catch (error) {
      failure ??= error;
      throw failure;
    }
  };

  const read = async (): Promise<Buffer | undefined> => {
    const chunk = pending ?? (await readChunk());
    pending = undefined;
    return chunk;
  };

  return {
    read,
    async readAtMost(max) {
      const chunk = await read();
      if (chunk === undefined || chunk.length <= max) return chunk;
      pending = chunk.subarray(max);
      return chunk.subarray(0, max);
    },
    async fill(target) {
      let filled = 0;
      while (filled < target.length) {
        const chunk = await read();
        if (chunk === undefined) break;
        const taken = Math.min(chunk.length, target.length - filled);
        chunk.copy(target, filled, 0, taken);
        filled += taken;
        if (taken < chunk.length) pending = chunk.subarray(taken);
      }
      return filled;
    },
    async ended() {
      pending ??= await readChunk();
      return pending === undefined;
    },
    get error() {
      return failure;
    },
    release() {
      signal?.removeEventListener('abort', onAbort);
      // May stay pending while a read is outstanding on a stalled body; nothing waits for it.
      iterator.return?.().catch(() => {});
    },
  };
}
