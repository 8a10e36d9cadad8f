import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { formatSize } from '../config/units.ts';
import { AppError } from '../errors.ts';

/**
 * A pass-through that counts bytes, hashes them (SHA-256) and fails the stream the moment the body
 * exceeds `maxBytes`. Failing the stream (rather than truncating) is what makes the driver abandon
 * the write: a size limit must never commit a truncated object.
 */
export class Meter extends Transform {
  bytes = 0;
  readonly #hash = createHash('sha256');
  readonly #maxBytes: number;
  #hex: string | undefined;

  constructor(maxBytes: number) {
    super();
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#maxBytes) {
      callback(tooLarge(this.#maxBytes));
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  /** Hex SHA-256 of everything that passed; call after the stream ended (later calls give the same). */
  digest(): string {
    this.#hex ??= this.#hash.digest('hex');
    return this.#hex;
  }

  /**
   * The digest once every byte has been read out of the meter (the stream ended), else undefined:
   * for a driver that sends the body in one request signed with its SHA-256, which then need not
   * hash the same bytes a second time (PutInput.sha256).
   */
  readonly endedDigest = (): string | undefined => (this.readableEnded ? this.digest() : undefined);
}

export const tooLarge = (maxBytes: number): AppError =>
  new AppError('PAYLOAD_TOO_LARGE', `the file is larger than this storage allows (${formatSize(maxBytes)})`, {
    details: { maxFileSize: maxBytes },
  });
