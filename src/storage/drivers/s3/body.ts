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
  /** Reads until more than `limit` bytes are buffered or the body ends. */
  readHead(limit: number): Promise<{ chunks: Buffer[]; bytes: number; ended: boolean }>;
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

  const read = async (): Promise<Buffer | undefined> => {
    try {
      const next = await iterator.next();
      return next.done ? undefined : toBuffer(next.value);
    } catch (error) {
      failure ??= error;
      throw failure;
    }
  };

  return {
    read,
    async readHead(limit) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      while (bytes <= limit) {
        const chunk = await read();
        if (chunk === undefined) return { chunks, bytes, ended: true };
        chunks.push(chunk);
        bytes += chunk.length;
      }
      return { chunks, bytes, ended: false };
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
