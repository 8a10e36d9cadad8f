import type { ErrorCode } from '../../../src/errors.ts';
import { png } from '../../support/payloads.ts';
import {
  bearer,
  type Case,
  type Expectation,
  error,
  gone,
  type Headers,
  objectsPath,
  protocol,
  type Target,
} from '../case.ts';
import { filePart, form, formType } from '../multipart.ts';
import { head } from '../wire.ts';

/**
 * Message framing: request smuggling shapes (duplicate or conflicting Content-Length and
 * Transfer-Encoding), chunked encoding errors, malformed request lines and header fields, and bodies
 * that end before their announced length. Most of these never reach Stowage: Node's parser (llhttp)
 * refuses them, and Fastify's client-error handler answers 400 and closes. The body is a PNG the
 * storage would accept, so a request the parser let through by mistake would leave an object behind;
 * where a lenient parse is legitimate (RFC-valid but odd), the body is one the allowlist refuses.
 */
export function framingCases(target: Target): Case[] {
  const cases: Case[] = [];
  const [s3, local] = target.storages;
  const auth = bearer(target.writerKey);
  const refused = Buffer.from('<html>refused</html>');
  let n = 0;
  const putLine = (storage: string) => `PUT ${objectsPath(storage)}/framing-${n++}.png HTTP/1.1`;
  const add = (name: string, parts: Buffer[], expect: Expectation, finish?: 'half-close' | 'destroy') =>
    cases.push({ family: 'framing', name, request: { parts, ...(finish && { finish }) }, expect });
  const pngHeaders: Headers = [...auth, ['Content-Type', 'image/png']];
  const body = png(1024);
  const chunked = (data: Buffer, size = data.length.toString(16)) =>
    Buffer.concat([Buffer.from(`${size}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')]);

  for (const storage of [s3, local]) {
    const at = `${storage}: `;
    // ---- Content-Length / Transfer-Encoding conflicts: [name, framing headers, body sent]
    const length = String(body.length);
    const smuggle = Buffer.from(
      `0\r\n\r\nDELETE ${objectsPath(storage)}/${target.seedKey} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    const conflicts: Array<[string, Headers, Buffer]> = [
      [
        'two equal Content-Length headers',
        [
          ['Content-Length', length],
          ['Content-Length', length],
        ],
        body,
      ],
      [
        'two different Content-Length headers',
        [
          ['Content-Length', '10'],
          ['Content-Length', length],
        ],
        body,
      ],
      ['Content-Length list "N, N"', [['Content-Length', `${length}, ${length}`]], body],
      [
        'CL.TE: Content-Length then chunked',
        [
          ['Content-Length', '4'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked(body),
      ],
      [
        'TE.CL: chunked then Content-Length',
        [
          ['Transfer-Encoding', 'chunked'],
          ['Content-Length', `${body.length + 20}`],
        ],
        chunked(body),
      ],
      [
        'smuggled request after a zero chunk with Content-Length',
        [
          ['Content-Length', '50'],
          ['Transfer-Encoding', 'chunked'],
        ],
        smuggle,
      ],
      [
        'Transfer-Encoding "chunked, gzip" (chunked not last)',
        [['Transfer-Encoding', 'chunked, gzip']],
        chunked(body),
      ],
      ['Transfer-Encoding "xchunked"', [['Transfer-Encoding', 'xchunked']], chunked(body)],
      [
        'Transfer-Encoding "identity"',
        [
          ['Transfer-Encoding', 'identity'],
          ['Content-Length', length],
        ],
        body,
      ],
      ['"Transfer-Encoding :" (space before the colon)', [['Transfer-Encoding ', 'chunked']], chunked(body)],
      [
        'Transfer-Encoding folded onto a continuation line',
        [['Transfer-Encoding', '\r\n chunked']],
        chunked(body),
      ],
      ...['-1', '+1024', '1e3', '0x400', '10 24', '', '99999999999999999999999', '1024.0'].map(
        (value): [string, Headers, Buffer] => [
          `Content-Length "${value}"`,
          [['Content-Length', value]],
          body,
        ],
      ),
    ];
    for (const [name, framing, payload] of conflicts)
      add(`${at}${name}`, [head(putLine(storage), [...pngHeaders, ...framing]), payload], protocol());
    // Odd but valid codings Node accepts: the body is one the allowlist refuses.
    for (const coding of ['gzip, chunked', 'chunked, chunked'])
      add(
        `${at}Transfer-Encoding "${coding}"`,
        [
          head(putLine(storage), [...auth, ['Content-Type', 'text/html'], ['Transfer-Encoding', coding]]),
          chunked(refused),
        ],
        protocol('UNSUPPORTED_MEDIA_TYPE'),
      );

    // ---- chunked encoding errors
    const te: Headers = [...pngHeaders, ['Transfer-Encoding', 'chunked']];
    add(`${at}chunk size "zz"`, [head(putLine(storage), te), chunked(body, 'zz')], protocol());
    add(`${at}chunk size "-1"`, [head(putLine(storage), te), chunked(body, '-1')], protocol());
    add(
      `${at}chunk size past 2^64`,
      [head(putLine(storage), te), chunked(body, 'fffffffffffffffffff')],
      protocol(),
    );
    add(
      `${at}chunk size larger than the data, then the next size line`,
      [
        head(putLine(storage), te),
        Buffer.from(`${(body.length + 16).toString(16)}\r\n`),
        body,
        Buffer.from('\r\n0\r\n\r\n'),
      ],
      protocol(),
      'half-close',
    );
    add(
      `${at}no CRLF after the chunk data`,
      [
        head(putLine(storage), te),
        Buffer.from(`${body.length.toString(16)}\r\n`),
        body,
        Buffer.from('0\r\n\r\n'),
      ],
      protocol(),
    );
    add(
      `${at}bare-LF chunk lines`,
      [
        head(putLine(storage), te),
        Buffer.from(`${body.length.toString(16)}\n`),
        body,
        Buffer.from('\n0\n\n'),
      ],
      protocol(),
    );
    add(
      `${at}a 20 KiB chunk extension`,
      [
        head(putLine(storage), [...auth, ['Content-Type', 'text/html'], ['Transfer-Encoding', 'chunked']]),
        chunked(refused, `${refused.length.toString(16)};ext=${'e'.repeat(20 * 1024)}`),
      ],
      protocol('UNSUPPORTED_MEDIA_TYPE'),
    );
    add(
      `${at}no last chunk, client half-closes`,
      [head(putLine(storage), te), Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')],
      // The message ends mid-body: Node's parser reports it (400) to a client that can still read.
      protocol('CLIENT_CLOSED_REQUEST'),
      'half-close',
    );
    add(
      `${at}chunked body over the size limit`,
      [head(putLine(storage), te), chunked(png(target.maxFileSize + 512))],
      error('PAYLOAD_TOO_LARGE'),
    );

    // ---- bodies shorter than their Content-Length
    const short = (
      name: string,
      requestLine: string,
      headers: Headers,
      length: number,
      sent: Buffer,
      finish: 'half-close' | 'destroy',
      expect: Expectation,
    ) =>
      add(
        `${at}${name}`,
        [head(requestLine, [...headers, ['Content-Length', String(length)]]), sent],
        expect,
        finish,
      );
    const upload = form('short-b', [filePart(png(2048)), filePart(png(2048))]);
    const json = Buffer.from(JSON.stringify({ key: target.seedKey, filename: 'x'.repeat(200) }));
    const truncated: Array<[string, string, Headers, number, Buffer, ErrorCode[]]> = [
      ['PUT body', putLine(storage), pngHeaders, 4096, body, ['CLIENT_CLOSED_REQUEST']],
      [
        'POST form (after its first file)',
        `POST ${objectsPath(storage)} HTTP/1.1`,
        [...auth, ['Content-Type', formType('short-b')]],
        upload.length,
        upload.subarray(0, upload.length - 600),
        ['CLIENT_CLOSED_REQUEST', 'INVALID_MULTIPART'],
      ],
      [
        'URL request',
        `POST /v1/storages/${storage}/urls HTTP/1.1`,
        [...auth, ['Content-Type', 'application/json']],
        json.length,
        json.subarray(0, 40),
        [],
      ],
    ];
    for (const [name, requestLine, headers, length, sent, codes] of truncated) {
      // The message ends mid-body: Node's parser reports it (400) to a client that can still read.
      short(
        `${name} cut short, client half-closes`,
        requestLine,
        headers,
        length,
        sent,
        'half-close',
        protocol(...codes),
      );
      short(`${name} cut short, client vanishes`, requestLine, headers, length, sent, 'destroy', gone);
    }
  }

  // ---- request line and header syntax. The target is a listing that needs credentials: a request
  // the parser let through is refused by Stowage (401), never served.
  const line = (name: string, bytes: string, expect: Expectation = protocol('UNAUTHORIZED')) =>
    add(name, [Buffer.from(bytes, 'latin1')], expect);
  const list = objectsPath(s3);
  const rest = 'Host: x\r\nConnection: close\r\n';
  line('method with a space ("G ET")', `G ET ${list} HTTP/1.1\r\n${rest}\r\n`);
  line('unknown method token', `FUZZ ${list} HTTP/1.1\r\n${rest}\r\n`);
  line('lower-case method', `get ${list} HTTP/1.1\r\n${rest}\r\n`);
  line('HTTP/2.0 in an HTTP/1 request line', `GET ${list} HTTP/2.0\r\n${rest}\r\n`);
  line('HTTP/1.1 followed by junk', `GET ${list} HTTP/1.1 junk\r\n${rest}\r\n`);
  line('no HTTP version (HTTP/0.9 style)', `GET ${list}\r\n\r\n`);
  line('missing Host header', `GET ${list} HTTP/1.1\r\nConnection: close\r\n\r\n`);
  line('two Host headers', `GET ${list} HTTP/1.1\r\nHost: a\r\n${rest}\r\n`);
  line('NUL in a header value', `GET ${list} HTTP/1.1\r\n${rest}X-Bad: a\0b\r\n\r\n`);
  line('bare CR in a header value', `GET ${list} HTTP/1.1\r\n${rest}X-Bad: a\rb\r\n\r\n`);
  line('space inside a header name', `GET ${list} HTTP/1.1\r\n${rest}X Bad: 1\r\n\r\n`);
  line('empty header name', `GET ${list} HTTP/1.1\r\n${rest}: value\r\n\r\n`);
  line('header name with a non-token character', `GET ${list} HTTP/1.1\r\n${rest}X(bad): 1\r\n\r\n`);
  line('obs-fold continuation line', `GET ${list} HTTP/1.1\r\n${rest}X-Folded: a\r\n b\r\n\r\n`);
  line('CONNECT to another host', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
  line(
    'bare-LF request (no CR anywhere)',
    `PUT ${objectsPath(s3)}/bare-lf.png HTTP/1.1\nHost: x\nConnection: close\nContent-Type: text/html\nContent-Length: ${refused.length}\n\n${refused.toString('latin1')}`,
  );
  line(
    'absolute-form target for another host',
    `GET http://evil.example${list} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    protocol('UNAUTHORIZED', 'NOT_FOUND'),
  );
  line('asterisk-form target', `OPTIONS * HTTP/1.1\r\n${rest}\r\n`, protocol('NOT_FOUND'));
  line('target without a leading slash', `GET v1/storages HTTP/1.1\r\n${rest}\r\n`, protocol('NOT_FOUND'));
  line(
    'PATCH, a method no route has',
    `PATCH ${list} HTTP/1.1\r\n${rest}Content-Length: 0\r\n\r\n`,
    error('NOT_FOUND'),
  );
  line('TRACE', `TRACE ${list} HTTP/1.1\r\n${rest}\r\n`, error('NOT_FOUND'));
  return cases;
}
