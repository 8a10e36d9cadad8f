/**
 * An S3 endpoint that answers at once and stores nothing — for the `overhead` scenario only, which
 * measures the CPU Stowage itself spends per request with the S3 server's own cost taken out. Never
 * used by a test: tests talk to a real S3 server. `node bench/relay/stub-s3.ts` prints its port.
 *
 * PUT (object or part): the body is read and dropped; 200 with an ETag. Conditional writes are
 * enforced on the keys it was sent (412 for If-None-Match: * on one of them, and for an If-Match it
 * does not match), so a create-only Stowage passes its conditions probe (conditions-probe.ts) and
 * writes; only the keys are kept, until a DELETE. GET/HEAD of a key ending in `/<n>`: n bytes (0x61),
 * with the headers S3 sends. Anything else: 200, empty.
 */
import { createServer, type ServerResponse } from 'node:http';

const block = Buffer.alloc(1 << 20, 0x61);
const etag = '"0123456789abcdef0123456789abcdef"';
const lastModified = new Date().toUTCString();
/** Paths of the objects PUT so far (not parts): what the conditions are decided against. */
const written = new Set<string>();

function conditionFails(path: string, ifNoneMatch: unknown, ifMatch: unknown): boolean {
  const exists = written.has(path);
  if (ifNoneMatch === '*' && exists) return true;
  return ifMatch !== undefined && (!exists || String(ifMatch).replace(/"/g, '') !== etag.replace(/"/g, ''));
}

function sendBytes(response: ServerResponse, size: number): void {
  let left = size;
  const more = () => {
    while (left > 0) {
      const chunk = left >= block.length ? block : block.subarray(0, left);
      left -= chunk.length;
      if (!response.write(chunk)) return void response.once('drain', more);
    }
    response.end();
  };
  more();
}

const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  const [path = '', query = ''] = (request.url ?? '').split('?');
  if (request.method === 'PUT') {
    const object = !/(^|&)partNumber=/.test(query);
    const refused =
      object && conditionFails(path, request.headers['if-none-match'], request.headers['if-match']);
    request.resume();
    request.once('end', () => {
      if (refused) {
        const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code></Error>';
        response.writeHead(412, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
        return;
      }
      if (object) written.add(path);
      response.writeHead(200, { etag, 'content-length': '0' });
      response.end();
    });
    return;
  }
  if (request.method === 'DELETE') written.delete(path);
  const size = Number(/\/(\d+)$/.exec(path)?.[1] ?? Number.NaN);
  if ((request.method === 'GET' || request.method === 'HEAD') && Number.isSafeInteger(size)) {
    response.writeHead(200, {
      'content-length': String(size),
      'content-type': 'application/octet-stream',
      etag,
      'last-modified': lastModified,
    });
    if (request.method === 'HEAD') response.end();
    else sendBytes(response, size);
    return;
  }
  request.resume();
  response.writeHead(200, { 'content-length': '0' });
  response.end();
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
