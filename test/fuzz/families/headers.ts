import { png } from '../../support/payloads.ts';
import {
  bearer,
  type Case,
  cut,
  type Expectation,
  error,
  type Headers,
  objectsPath,
  protocol,
  type Target,
} from '../case.ts';
import { filePart, form, formType } from '../multipart.ts';
import { head } from '../wire.ts';

/** Node's limit on a request head (request line and header fields), in bytes. */
export const NODE_MAX_HEADER_BYTES = 16 * 1024;

/**
 * Huge header sections just under and over Node's 16 KiB limit, thousands of header fields,
 * duplicated security-relevant headers; and slow clients: headers dripped over time, heads and
 * bodies that stall. The slow ones are bounded by the test's idle timeout (a few seconds).
 */
export function headerCases(target: Target, idleTimeoutMs: number): Case[] {
  const cases: Case[] = [];
  const [s3, local] = target.storages;
  const upload = (storage: string) => `POST ${objectsPath(storage)} HTTP/1.1`;
  const add = (
    name: string,
    parts: Array<Buffer | { pauseMs: number }>,
    expect: Expectation,
    extra: Partial<Case> = {},
  ) => cases.push({ family: 'headers', name, request: { parts }, expect, ...extra });
  /** A head of exactly `total` bytes: one padding header fills what the other lines leave. */
  const sized = (requestLine: string, headers: Headers, total: number) => {
    const without = head(requestLine, [...headers, ['X-Pad', '']]).length;
    return head(requestLine, [...headers, ['X-Pad', 'p'.repeat(Math.max(0, total - without))]]);
  };
  const noCredentials: Headers = [
    ['Content-Type', formType('h')],
    ['Content-Length', '0'],
  ];

  for (const storage of [s3, local]) {
    const at = `${storage}: `;
    add(
      `${at}head of 16 KiB - 1 KiB, no credentials`,
      [sized(upload(storage), noCredentials, NODE_MAX_HEADER_BYTES - 1024)],
      error('UNAUTHORIZED'),
    );
    add(
      `${at}head of 16 KiB - 64 bytes, no credentials`,
      [sized(upload(storage), noCredentials, NODE_MAX_HEADER_BYTES - 64)],
      error('UNAUTHORIZED'),
    );
    add(
      `${at}head of 16 KiB + 64 bytes`,
      [sized(upload(storage), noCredentials, NODE_MAX_HEADER_BYTES + 64)],
      protocol(),
    );
    add(`${at}head of 64 KiB`, [sized(upload(storage), noCredentials, 64 * 1024)], protocol());
    add(`${at}1 MiB of header fields`, [sized(upload(storage), noCredentials, 2 ** 20)], protocol());
    // Node (24.18+) refuses more than server.maxHeadersCount (1000) fields with 431, whatever their size.
    const fields = (count: number) =>
      head(upload(storage), [
        ...noCredentials,
        ...Array.from({ length: count - 4 }, (): [string, string] => ['X', '']),
      ]);
    add(`${at}1000 header fields in all (Node's field limit)`, [fields(1000)], error('UNAUTHORIZED'));
    add(`${at}1001 header fields in all`, [fields(1001)], protocol());
    add(`${at}3000 tiny header fields (under the byte limit)`, [fields(3000)], protocol());
    add(
      `${at}6000 tiny header fields (over the byte limit)`,
      [
        head(upload(storage), [
          ...noCredentials,
          ...Array.from({ length: 6000 }, (_, i): [string, string] => [`X${i}`, '']),
        ]),
      ],
      protocol(),
    );
    add(
      `${at}a 15 KiB Cookie`,
      [head(upload(storage), [...noCredentials, ['Cookie', `c=${'v'.repeat(15 * 1024)}`]])],
      error('UNAUTHORIZED'),
    );
    for (const [kib, expect] of [
      [15, error('VALIDATION_FAILED')],
      [20, protocol()],
    ] as const) {
      const line = `GET ${objectsPath(storage)}?prefix=${'p'.repeat(kib * 1024)} HTTP/1.1`;
      add(`${at}a ${kib} KiB request target`, [head(line, bearer(target.writerKey))], expect);
    }
    add(
      `${at}a bad key before the good one (Authorization twice)`,
      [
        head(upload(storage), [
          ['Authorization', 'Bearer stw_wrong'],
          ...bearer(target.writerKey),
          ...noCredentials,
        ]),
      ],
      error('UNAUTHORIZED'),
    );
    const refused = form('h', [filePart(Buffer.from('<html></html>'), { type: 'text/html' })]);
    add(
      `${at}Content-Type twice, the second a different boundary`,
      [
        head(upload(storage), [
          ...bearer(target.writerKey),
          ['Content-Type', formType('h')],
          ['Content-Type', formType('other')],
          ['Content-Length', String(refused.length)],
        ]),
        refused,
      ],
      error('UNSUPPORTED_MEDIA_TYPE', 'INVALID_MULTIPART', 'NO_FILES'),
    );
  }

  // ---- slow clients (the test runs these concurrently with each other)
  const slow = { family: 'slow', timeoutMs: idleTimeoutMs + 4000 };
  const drip = (bytes: Buffer, pieces: number, pauseMs: number) => {
    const size = Math.ceil(bytes.length / pieces);
    return Array.from({ length: pieces }, (_, i) => [
      bytes.subarray(i * size, (i + 1) * size),
      { pauseMs },
    ]).flat();
  };
  const anonymous = head(upload(s3), [
    ['Content-Type', formType('h')],
    ['Content-Length', '0'],
  ]);
  add(
    'slow headers: dripped over ~1.5 s, then complete',
    drip(anonymous, 30, 50),
    error('UNAUTHORIZED'),
    slow,
  );
  add('slow headers: half a head, then silence', [anonymous.subarray(0, anonymous.length >> 1)], cut(), slow);
  add('slow headers: one byte, then silence', [Buffer.from('P')], cut(), slow);
  const body = form('slow', [filePart(png(4096))]);
  const authed = head(upload(local), [
    ...bearer(target.writerKey),
    ['Content-Type', formType('slow')],
    ['Content-Length', String(body.length)],
  ]);
  add(
    'slow body: half a form, then silence (nothing stored)',
    [authed, body.subarray(0, body.length >> 1)],
    cut('CLIENT_CLOSED_REQUEST', 'INVALID_MULTIPART'),
    slow,
  );
  const put = head(`PUT ${objectsPath(s3)}/slow-put.png HTTP/1.1`, [
    ...bearer(target.writerKey),
    ['Content-Type', 'image/png'],
    ['Content-Length', '4096'],
  ]);
  add(
    'slow body: 1 KiB of a 4 KiB PUT, then silence (nothing stored)',
    [put, png(1024)],
    cut('CLIENT_CLOSED_REQUEST'),
    slow,
  );
  const broken = Buffer.concat([
    form('slow', [filePart(png(2048))], { close: false }),
    Buffer.from('--slow\r\nnot a header\r\n\r\n'),
  ]);
  const brokenHead = head(upload(local), [
    ...bearer(target.writerKey),
    ['Content-Type', formType('slow')],
    ['Content-Length', String(broken.length)],
  ]);
  add(
    'slow body: a broken form dripped over ~1 s',
    [brokenHead, ...drip(broken, 10, 100)],
    error('INVALID_MULTIPART', 'NO_FILES'),
    slow,
  );
  return cases;
}
