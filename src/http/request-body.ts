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
  const prematureClose = () =>
    Object.assign(new Error('the client closed the connection mid-body'), {
      code: 'ERR_STREAM_PREMATURE_CLOSE',
    });
  // The client may be gone already: it left while the route awaited authentication or upload
  // admission. The request was destroyed then (what it had buffered is dropped, whether or not it
  // was complete) and its 'close' will not fire again, so piping it would wait forever.
  if (raw.destroyed && !raw.readableEnded) {
    // Nobody listens yet: the error is read from `errored` (storeObject checks it before reading), and
    // an 'error' event without a listener would crash the process.
    body.on('error', () => {});
    body.destroy(prematureClose());
    return body;
  }
  const onClose = () => {
    if (!raw.complete && !body.destroyed) body.destroy(prematureClose());
  };
  raw.once('close', onClose);
  body.once('close', () => {
    raw.off('close', onClose);
    raw.unpipe(body);
  });
  raw.pipe(body);
  return body;
}
