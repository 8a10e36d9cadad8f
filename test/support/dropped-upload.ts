import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * An upload whose client vanishes: the request head announces the whole body, `dropAfter` bytes of
 * the file are written (and flushed to the kernel), then the connection is dropped. As a multipart
 * form (one file part) or a raw PUT, over a plain socket so nothing on the client side retries,
 * buffers or finishes the body.
 */
export interface DroppedUpload {
  kind: 'form' | 'put';
  /** The request path: …/objects for a form, …/objects/{key} for a PUT. */
  path: string;
  /** The file's announced size. */
  size: number;
  /** File bytes sent before the drop (< size). */
  dropAfter: number;
}

export interface DropOutcome {
  /** A status the server answered with before the client dropped, if any (it should not answer). */
  answeredEarly?: number;
}

const BOUNDARY = 'StowageDroppedUpload7MA4YWxkTrZu0gW';
const filler = randomBytes(2 ** 20);

/** `beforeDrop` runs once the bytes are sent, before the drop (e.g. until the server is writing them). */
export async function dropUpload(
  baseUrl: string,
  upload: DroppedUpload,
  { beforeDrop }: { beforeDrop?: () => Promise<unknown> } = {},
): Promise<DropOutcome> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const outcome: DropOutcome = {};
  socket.on('data', (chunk: Buffer) => {
    const status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1];
    if (status && outcome.answeredEarly === undefined) outcome.answeredEarly = Number(status);
  });
  socket.on('error', () => {}); // the server may cut first; the outcome says what it answered
  const [preamble, epilogue] =
    upload.kind === 'form'
      ? [
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="dropped.bin"\r\n` +
            'Content-Type: application/octet-stream\r\n\r\n',
          `\r\n--${BOUNDARY}--\r\n`,
        ]
      : ['', ''];
  const contentType =
    upload.kind === 'form' ? `multipart/form-data; boundary=${BOUNDARY}` : 'application/octet-stream';
  const length = Buffer.byteLength(preamble) + upload.size + Buffer.byteLength(epilogue);
  const method = upload.kind === 'form' ? 'POST' : 'PUT';
  await write(
    socket,
    Buffer.from(
      `${method} ${upload.path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: ${contentType}\r\n` +
        `Content-Length: ${length}\r\n\r\n${preamble}`,
    ),
  );
  for (let sent = 0; sent < upload.dropAfter && !socket.destroyed; ) {
    const piece = filler.subarray(0, Math.min(filler.length, upload.dropAfter - sent));
    await write(socket, piece);
    sent += piece.length;
  }
  await beforeDrop?.();
  socket.destroy();
  return outcome;
}

/** Resolves once the bytes are handed to the kernel (or the socket is gone). */
function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.write(data, () => resolve());
  });
}
