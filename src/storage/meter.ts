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

  /** Hex SHA-256 of everything that passed; call once, after the stream ended. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}

export const tooLarge = (maxBytes: number): AppError =>
  new AppError('PAYLOAD_TOO_LARGE', `the file is larger than this storage allows (${formatSize(maxBytes)})`, {
    details: { maxFileSize: maxBytes },
  });
