import { isAppError } from '../errors.ts';
import { isClientAbort } from './client-abort.ts';

/**
 * What became of each file a request tried to store, reported by the write path (intake.ts) to the
 * storage's sink (the metrics, src/metrics.ts). A multi-file upload is all-or-nothing, so its writes
 * are reported only once the request is decided: a file stored and then removed again because a later
 * one was refused was, for the client, refused — it must not count as stored.
 */

export type WriteOutcome = 'stored' | 'refused' | 'aborted' | 'failed';

export interface FileWrite {
  outcome: WriteOutcome;
  /** From the first byte read to the backend's answer (or the failure). */
  seconds: number;
  /** Bytes stored (0 unless stored). */
  bytes: number;
}

export type WriteSink = (write: FileWrite) => void;

/** A refusal is the client's doing (4xx: size, type, existing key…); an abort is the client leaving. */
export function writeOutcome(error: unknown): Exclude<WriteOutcome, 'stored'> {
  if (isClientAbort(error)) return 'aborted';
  return isAppError(error) && error.isClientError ? 'refused' : 'failed';
}

/** The writes of one all-or-nothing request, held until it is decided. */
export class WriteBatch {
  readonly #writes: FileWrite[] = [];
  readonly #sink: WriteSink | undefined;

  constructor(sink: WriteSink | undefined) {
    this.#sink = sink;
  }

  readonly add: WriteSink = (write) => {
    this.#writes.push(write);
  };

  /** Every file of the request is kept. */
  commit(): void {
    for (const write of this.#writes.splice(0)) this.#sink?.(write);
  }

  /** The request was refused and its stored files removed again: they count as refused. */
  rollback(): void {
    for (const write of this.#writes.splice(0))
      this.#sink?.(write.outcome === 'stored' ? { ...write, outcome: 'refused', bytes: 0 } : write);
  }
}
