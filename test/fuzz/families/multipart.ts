import { png } from '../../support/payloads.ts';
import {
  bearer,
  type Case,
  type Expectation,
  error,
  type Headers,
  objectsPath,
  send,
  type Target,
} from '../case.ts';
import { CRLF, fieldPart, filePart, form, formType, type RawPart, rawPart } from '../multipart.ts';
import { head } from '../wire.ts';

/**
 * Broken multipart framing, and forms with too many or the wrong kind of parts. Unless a case says
 * otherwise the file in it is a valid PNG the storage would accept: a parser that let the broken
 * form through would store it, and the final check of the backends would see it.
 */
export function multipartCases(target: Target): Case[] {
  const cases: Case[] = [];
  for (const storage of target.storages) {
    const post = (name: string, contentType: string | undefined, body: Buffer, expect: Expectation): void => {
      const headers: Headers = [
        ...bearer(target.writerKey),
        ...(contentType ? [['Content-Type', contentType] as const] : []),
      ];
      cases.push({
        family: 'multipart',
        name: `${storage}: ${name}`,
        request: send('POST', objectsPath(storage), headers, body),
        expect,
      });
    };
    const file = () => filePart(png(2048));
    // Where the parser is lenient (an RFC-odd form it still reads as the sender meant), the file is
    // one the allowlist refuses: the case then checks that the odd form is harmless, not refused.
    const refusedFile = () => filePart(Buffer.from('<html><script>1</script></html>'), { type: 'text/html' });
    const lenient = error('UNSUPPORTED_MEDIA_TYPE', 'INVALID_MULTIPART', 'NO_FILES');
    const b = 'fuzz-boundary-0123';
    const good = form(b, [file()]);

    // ---- boundaries: missing, empty, wrong, misplaced
    post('no boundary parameter', 'multipart/form-data', good, error('INVALID_MULTIPART'));
    post('empty boundary', 'multipart/form-data; boundary=', good, error('INVALID_MULTIPART'));
    post('empty quoted boundary', 'multipart/form-data; boundary=""', good, error('INVALID_MULTIPART'));
    post(
      'unterminated quoted boundary',
      `multipart/form-data; boundary="${b}`,
      form(b, [refusedFile()]),
      lenient,
    );
    post(
      'boundary the body does not use',
      formType('other-boundary'),
      good,
      error('INVALID_MULTIPART', 'NO_FILES'),
    );
    post(
      'boundary given as the body plus a suffix',
      formType(`${b}x`),
      good,
      error('INVALID_MULTIPART', 'NO_FILES'),
    );
    post(
      'boundary given as a prefix of the body one',
      formType(b.slice(0, -3)),
      good,
      error('INVALID_MULTIPART', 'NO_FILES'),
    );
    post(
      'no closing delimiter',
      formType(b),
      form(b, [file()], { close: false }),
      error('INVALID_MULTIPART'),
    );
    post(
      'closing delimiter without the final dashes',
      formType(b),
      Buffer.concat([form(b, [file()], { close: false }), Buffer.from(`--${b}`)]),
      error('INVALID_MULTIPART'),
    );
    post(
      'only the closing delimiter',
      formType(b),
      Buffer.from(`--${b}--${CRLF}`),
      error('NO_FILES', 'INVALID_MULTIPART'),
    );
    post('empty body', formType(b), Buffer.alloc(0), error('NO_FILES', 'INVALID_MULTIPART'));
    post('body is a lone "--"', formType(b), Buffer.from('--'), error('INVALID_MULTIPART', 'NO_FILES'));
    post(
      'delimiter without the leading dashes',
      formType(b),
      Buffer.from(form(b, [file()]).toString('latin1').replaceAll(`--${b}`, b), 'latin1'),
      error('INVALID_MULTIPART', 'NO_FILES'),
    );
    post(
      'delimiter glued to the part headers (no CRLF)',
      formType(b),
      Buffer.from(form(b, [refusedFile()]).toString('latin1').replace(`--${b}${CRLF}`, `--${b}`), 'latin1'),
      lenient,
    );
    post(
      'part headers before the first delimiter',
      formType(b),
      Buffer.concat([
        file().headers,
        Buffer.from(CRLF + CRLF),
        png(256),
        Buffer.from(`${CRLF}--${b}--${CRLF}`),
      ]),
      error('NO_FILES', 'INVALID_MULTIPART'),
    );
    post(
      'bare-LF line endings',
      formType(b),
      Buffer.from(form(b, [file()]).toString('latin1').replaceAll(CRLF, '\n'), 'latin1'),
      error('INVALID_MULTIPART', 'NO_FILES'),
    );
    post(
      'no blank line between part headers and data',
      formType(b),
      Buffer.concat([
        Buffer.from(`--${b}${CRLF}`),
        file().headers,
        Buffer.from(CRLF),
        png(256),
        Buffer.from(`${CRLF}--${b}--${CRLF}`),
      ]),
      error('INVALID_MULTIPART', 'NO_FILES', 'UNSUPPORTED_MEDIA_TYPE'),
    );
    post(
      'part header line without a colon',
      formType(b),
      form(b, [rawPart(['Content-Disposition form-data; name="file"; filename="a.png"'], png(256))]),
      error('INVALID_MULTIPART', 'NO_FILES'),
    );
    post(
      'part without Content-Disposition',
      formType(b),
      form(b, [rawPart(['Content-Type: image/png'], png(256))]),
      error('NO_FILES'),
    );
    post(
      'Content-Disposition "attachment" instead of form-data',
      formType(b),
      form(b, [
        rawPart(
          ['Content-Disposition: attachment; name="file"; filename="a.png"', 'Content-Type: image/png'],
          png(256),
        ),
      ]),
      error('NO_FILES'),
    );
    post(
      'a 100 KiB part header',
      formType(b),
      form(b, [
        rawPart(
          [
            `Content-Disposition: form-data; name="file"; filename="a.png"`,
            `X-Pad: ${'p'.repeat(100 * 1024)}`,
          ],
          png(256),
        ),
      ]),
      // The part header is cut at the parser's limit: what is left has no Content-Type (text/plain).
      error('INVALID_MULTIPART', 'NO_FILES', 'UNSUPPORTED_MEDIA_TYPE'),
    );
    post(
      'part with 500 header lines',
      formType(b),
      form(b, [
        rawPart(
          [
            `Content-Disposition: form-data; name="file"; filename="a.png"`,
            ...Array.from({ length: 500 }, (_, i) => `X-H${i}: v`),
          ],
          png(256),
        ),
      ]),
      error('INVALID_MULTIPART', 'NO_FILES', 'UNSUPPORTED_MEDIA_TYPE'),
    );
    post(
      'multipart/mixed instead of form-data',
      `multipart/mixed; boundary=${b}`,
      good,
      error('UNSUPPORTED_MEDIA_TYPE'),
    );
    post(
      'a nested multipart/mixed part',
      formType(b),
      form(b, [
        rawPart(
          [
            `Content-Disposition: form-data; name="file"; filename="a.png"`,
            'Content-Type: multipart/mixed; boundary=inner',
          ],
          form('inner', [file()]),
        ),
      ]),
      error('UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH'),
    );
    post(
      'a 2 KiB boundary (RFC 2046 allows 70)',
      formType('z'.repeat(2048)),
      form('z'.repeat(2048), [refusedFile()]),
      lenient,
    );

    // ---- parts: too many, the wrong kind, all-or-nothing
    const many = (count: number, part: () => RawPart) => form(b, Array.from({ length: count }, part));
    post(
      '5000 small fields',
      formType(b),
      many(5000, () => fieldPart('note', 'x')),
      error('TOO_MANY_PARTS'),
    );
    post(
      '40 fields then a file (33 allowed)',
      formType(b),
      form(b, [...Array.from({ length: 40 }, (_, i) => fieldPart(`f${i}`, 'x')), file()]),
      error('TOO_MANY_PARTS'),
    );
    post(
      '3000 file parts',
      formType(b),
      many(3000, () => filePart(png(70))),
      error('TOO_MANY_FILES'),
    );
    post(
      'one file more than maxFiles (all valid)',
      formType(b),
      form(b, [file(), file(), file()]),
      error('TOO_MANY_FILES'),
    );
    post(
      '3000 empty parts without headers',
      formType(b),
      many(3000, () => rawPart([], '')),
      error('TOO_MANY_PARTS', 'NO_FILES', 'INVALID_MULTIPART'),
    );
    post(
      'file part without filename (a field)',
      formType(b),
      form(b, [
        rawPart(['Content-Disposition: form-data; name="file"', 'Content-Type: image/png'], png(1024)),
      ]),
      error('NO_FILES'),
    );
    post('only fields', formType(b), form(b, [fieldPart('a', '1'), fieldPart('b', '2')]), error('NO_FILES'));
    post(
      'a 100 KiB field value (limit 64 KiB)',
      formType(b),
      // Fields are ignored: one over the limit is truncated by the parser, and the file decides.
      form(b, [fieldPart('note', 'v'.repeat(100 * 1024)), refusedFile()]),
      error('UNSUPPORTED_MEDIA_TYPE'),
    );
    post(
      'a JSON field that is not JSON',
      formType(b),
      form(b, [
        rawPart(['Content-Disposition: form-data; name="meta"', 'Content-Type: application/json'], '{"a":'),
        file(),
      ]),
      error('INVALID_MULTIPART'),
    );
    post(
      'a field named __proto__',
      formType(b),
      form(b, [fieldPart('__proto__', '{}'), file()]),
      error('INVALID_MULTIPART'),
    );
    post(
      'a file field named constructor',
      formType(b),
      form(b, [filePart(png(512), { field: 'constructor' })]),
      error('INVALID_MULTIPART'),
    );
    post(
      'empty file with an empty filename (an empty file input)',
      formType(b),
      form(b, [filePart(Buffer.alloc(0), { filename: '', type: 'application/octet-stream' })]),
      error('UNSUPPORTED_MEDIA_TYPE', 'NO_FILES'),
    );
    post(
      'a valid file, then one over the size limit',
      formType(b),
      form(b, [file(), filePart(png(target.maxFileSize + 1))]),
      error('PAYLOAD_TOO_LARGE'),
    );
    post(
      'a valid file, then one of a refused type',
      formType(b),
      form(b, [
        file(),
        filePart(Buffer.from('<html><script>1</script>'), { filename: 'x.html', type: 'text/html' }),
      ]),
      error('UNSUPPORTED_MEDIA_TYPE'),
    );
    post(
      'a valid file, then HTML declared as PNG',
      formType(b),
      form(b, [file(), filePart(Buffer.from('<html><script>1</script>'))]),
      error('CONTENT_TYPE_MISMATCH'),
    );
    post(
      'a valid file, then the form is cut off mid-part',
      formType(b),
      Buffer.concat([
        form(b, [file()], { close: false }),
        Buffer.from(`--${b}${CRLF}`),
        filePart(png(4096)).headers,
        Buffer.from(CRLF + CRLF),
        png(1024),
      ]),
      error('INVALID_MULTIPART'),
    );

    // ---- the same bytes in tiny writes: delimiters and part headers split across reads
    const pieces = (bytes: Buffer, size: number) =>
      Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
        bytes.subarray(i * size, (i + 1) * size),
      );
    const headers: Headers = [...bearer(target.writerKey), ['Content-Type', formType(b)]];
    const rolledBack = form(b, [file(), filePart(png(target.maxFileSize + 1))]);
    const broken = Buffer.concat([form(b, [file()], { close: false }), Buffer.from(`--${b}${CRLF}X`)]);
    for (const [name, body, size, expect] of [
      ['a valid file then one too large, in 7-byte writes', rolledBack, 7, error('PAYLOAD_TOO_LARGE')],
      ['a form cut mid-headers, in 1-byte writes', broken, 1, error('INVALID_MULTIPART')],
    ] as const) {
      cases.push({
        family: 'multipart',
        name: `${storage}: ${name}`,
        request: {
          parts: [
            head(`POST ${objectsPath(storage)} HTTP/1.1`, [
              ...headers,
              ['Content-Length', String(body.length)],
            ]),
            ...pieces(body, size),
          ],
        },
        expect,
      });
    }
  }
  return cases;
}
