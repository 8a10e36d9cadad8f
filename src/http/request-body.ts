import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

/**
 * The raw request body as a stream that can be failed without destroying the request itself:
 * destroying an IncomingMessage destroys its socket, and then no 413/409 can be sent. The request is
 * piped into a PassThrough; a failing pipeline destroys only that, and the error handler drains the
 * rest of the request. A client that disconnects mid-body fails the stream with a premature close.
 */
export function requestBodyStream(raw: IncomingMessage): PassThrough {
  const body = new PassThrough();
  const onClose = () => {
    if (!raw.complete && !body.destroyed) {
      body.destroy(
        Object.assign(new Error('the client closed the connection mid-body'), {
          code: 'ERR_STREAM_PREMATURE_CLOSE',
        }),
      );
    }
  };
  raw.once('close', onClose);
  body.once('close', () => {
    raw.off('close', onClose);
    raw.unpipe(body);
  });
  raw.pipe(body);
  return body;
}
