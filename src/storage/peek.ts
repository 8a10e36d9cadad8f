import { Readable } from 'node:stream';

/**
 * Reads up to `bytes` from the start of a stream so the content can be sniffed before it is streamed
 * on, without buffering more than `bytes`. Returns the head and a body that still yields every byte:
 * the same stream with the head put back (`unshift`), or, when the stream already ended, a fresh one
 * over the head. Rejects when the stream errors or closes early.
 */
export function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; body: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) return reject(error);
      // One chunk (the usual case: a socket read is larger than the window) is the head as it is.
      const head = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
      if (stream.readableEnded) return resolve({ head, body: Readable.from(head.length > 0 ? [head] : []) });
      if (head.length > 0) stream.unshift(head);
      resolve({ head, body: stream });
    };
    const onReadable = () => {
      let chunk: Buffer | null = stream.read();
      while (chunk !== null) {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= bytes) return finish();
        chunk = stream.read();
      }
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    const onClose = () => {
      if (!stream.readableEnded) {
        finish(
          Object.assign(new Error('stream closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }),
        );
      }
    };
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}
