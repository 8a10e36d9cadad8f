import type { IncomingMessage } from 'node:http';

/**
 * When a request is refused before its body was read (413, 415, 409…), the unread rest must go
 * somewhere: left in the socket it stalls the connection (and keep-alive), and closing at once makes
 * many clients lose the error response to a TCP reset. So the rest is read and discarded, up to a cap
 * in bytes and time; past the cap the connection is cut, which bounds what a hostile client can cost.
 */
const DRAIN_MAX_BYTES = 64 * 2 ** 20;
const DRAIN_MAX_MS = 10_000;

export function discardUnreadBody(raw: IncomingMessage): void {
  if (raw.complete || raw.destroyed || raw.readableEnded) return;
  let seen = 0;
  const cut = () => raw.socket?.destroy();
  const timer = setTimeout(cut, DRAIN_MAX_MS).unref();
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_MAX_BYTES) cut();
  };
  const done = () => {
    clearTimeout(timer);
    raw.off('data', onData);
  };
  raw.unpipe();
  raw.on('data', onData);
  raw.once('end', done);
  raw.once('close', done);
  raw.resume();
}
