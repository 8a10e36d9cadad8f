import { Readable } from 'node:stream';
import type { BodyReader } from './body.ts';

/**
 * One part's bytes as a stream, read from the client's body as they arrive: `head` (bytes already
 * read, e.g. to sniff the type) and then exactly `length - head.length` more, never past (what the
 * body holds beyond stays in the reader for the next part). A body that ends or fails first fails the
 * stream, and with it the UploadPart: S3 keeps no part shorter than its Content-Length.
 */
export function partStream(body: BodyReader, head: Buffer, length: number): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    let sent = head.length;
    if (sent > 0) yield head;
    while (sent < length) {
      const chunk = await body.readAtMost(length - sent);
      if (chunk === undefined) throw new Error('the body ended before its Content-Length');
      sent += chunk.length;
      yield chunk;
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  // Failures reach the caller through the UploadPart; an 'error' event must never go unheard.
  stream.on('error', () => {});
  return stream;
}
