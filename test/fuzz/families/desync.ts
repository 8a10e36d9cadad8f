import { URLS_BODY_LIMIT } from '../../../src/http/routes/urls.ts';
import { png } from '../../support/payloads.ts';
import {
  bearer,
  type Case,
  type Expectation,
  error,
  type Headers,
  objectsPath,
  type Target,
} from '../case.ts';
import { filePart, form, formType } from '../multipart.ts';
import { head } from '../wire.ts';

/**
 * Requests refused before their body is read, on a keep-alive connection, whose body carries a
 * complete authenticated request (a DELETE of the seed object). Stowage answers early and then has
 * to read the rest of the body as body (drain.ts) — if it ever parsed those bytes as the next
 * request, the smuggled DELETE would run: a second response would come back while the client
 * lingers, and the seed would be gone at the final check.
 */
export function desyncCases(target: Target): Case[] {
  const cases: Case[] = [];
  for (const storage of target.storages) {
    const smuggled = Buffer.from(
      `DELETE ${objectsPath(storage)}/${target.seedKey} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${target.writerKey}\r\nContent-Length: 0\r\n\r\n`,
    );
    /** `size` bytes of body: padding, then the smuggled request, then padding again. */
    const carrying = (size: number, at: number) =>
      Buffer.concat([
        Buffer.alloc(at, 'a'),
        smuggled,
        Buffer.alloc(Math.max(0, size - at - smuggled.length), 'a'),
      ]);
    const keepAlive = (requestLine: string, headers: Headers, body: Buffer) =>
      head(requestLine, [['Host', '127.0.0.1'], ...headers, ['Content-Length', String(body.length)]], {
        bare: true,
      });
    const add = (name: string, requestLine: string, headers: Headers, body: Buffer, expect: Expectation) =>
      cases.push({
        family: 'desync',
        name: `${storage}: ${name}`,
        request: { parts: [keepAlive(requestLine, headers, body), body], lingerMs: 300 },
        expect,
      });
    const auth = bearer(target.writerKey);
    const put = `PUT ${objectsPath(storage)}/desync.png HTTP/1.1`;
    add(
      'PUT over the size limit (refused on Content-Length)',
      put,
      [...auth, ['Content-Type', 'image/png']],
      carrying(target.maxFileSize + 4096, 1024),
      error('PAYLOAD_TOO_LARGE'),
    );
    add(
      'PUT without credentials',
      put,
      [['Content-Type', 'image/png']],
      carrying(8192, 16),
      error('UNAUTHORIZED'),
    );
    add(
      'PUT with a hostile key',
      `PUT ${objectsPath(storage)}/..%2fdesync.png HTTP/1.1`,
      [...auth, ['Content-Type', 'image/png']],
      carrying(8192, 16),
      error('INVALID_KEY'),
    );
    add(
      'PUT of a refused type (refused after sniffing the first 4 KiB)',
      put,
      [...auth, ['Content-Type', 'text/html']],
      Buffer.concat([Buffer.from('<html>'), carrying(16 * 1024, 8192)]),
      error('UNSUPPORTED_MEDIA_TYPE'),
    );
    const refused = form('desync', [
      filePart(Buffer.concat([Buffer.from('<html>'), carrying(8192, 4096)]), { type: 'text/html' }),
    ]);
    add(
      'upload of a refused type, the request inside the file',
      `POST ${objectsPath(storage)} HTTP/1.1`,
      [...auth, ['Content-Type', formType('desync')]],
      refused,
      error('UNSUPPORTED_MEDIA_TYPE'),
    );
    add(
      'upload without credentials',
      `POST ${objectsPath(storage)} HTTP/1.1`,
      [['Content-Type', formType('desync')]],
      form('desync', [filePart(Buffer.concat([png(1024), smuggled]))]),
      error('UNAUTHORIZED'),
    );
    add(
      'URL request over the JSON limit',
      `POST /v1/storages/${storage}/urls HTTP/1.1`,
      [...auth, ['Content-Type', 'application/json']],
      Buffer.concat([Buffer.from('{"key":"'), carrying(URLS_BODY_LIMIT + 4096, 100), Buffer.from('"}')]),
      error('PAYLOAD_TOO_LARGE'),
    );
  }
  return cases;
}
