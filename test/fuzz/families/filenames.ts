import { png } from '../../support/payloads.ts';
import { bearer, type Case, error, objectsPath, protocol, send, type Target } from '../case.ts';
import { filePart, form, formType, rawPart } from '../multipart.ts';

/** Filenames no honest browser sends, as raw bytes inside the part header. */
export const hostileFilenames: ReadonlyArray<readonly [string, Buffer]> = [
  ['NUL inside', Buffer.from('photo\0.png.exe', 'latin1')],
  ['bare CR', Buffer.from('a\rb.png', 'latin1')],
  ['bare LF', Buffer.from('a\nb.png', 'latin1')],
  ['CRLF and an injected header', Buffer.from('a.png"\r\nContent-Type: text/html\r\nX-Evil: "1', 'latin1')],
  ['300 characters', Buffer.from(`${'n'.repeat(296)}.png`)],
  ['20 000 characters', Buffer.from(`${'n'.repeat(20_000)}.png`)],
  ['invalid UTF-8 (ff fe)', Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x70, 0x6e, 0x67])],
  ['overlong UTF-8 "../" (c0 ae c0 ae c0 af)', Buffer.from([0xc0, 0xae, 0xc0, 0xae, 0xc0, 0xaf, 0x78])],
  ['lone continuation byte', Buffer.from([0x80, 0x2e, 0x70, 0x6e, 0x67])],
  ['truncated 3-byte sequence', Buffer.from([0x61, 0xe2, 0x82, 0x2e, 0x70, 0x6e, 0x67])],
  ['UTF-8 encoded surrogate (ed a0 80)', Buffer.from([0xed, 0xa0, 0x80, 0x2e, 0x70, 0x6e, 0x67])],
  ['RTL override ("gnp.exe" shown as "exe.png")', Buffer.from('invoice\u202egnp.exe')],
  ['traversal ../../', Buffer.from('../../../etc/passwd')],
  ['Windows traversal ..\\..\\', Buffer.from('..\\..\\windows\\win.ini')],
  ['absolute path', Buffer.from('/etc/shadow')],
  ['percent-encoded traversal', Buffer.from('%2e%2e%2f%2e%2e%2fescape.png')],
  ['only dots', Buffer.from('..')],
  ['unbalanced quote', Buffer.from('a"b.png')],
  ['line and paragraph separators', Buffer.from('a\u2028b\u2029.png')],
  // 255 characters survive sanitising; percent-encoded for S3 metadata these are 2.3 and 3 KB.
  ['300 three-byte characters (CJK)', Buffer.from(`${'漢'.repeat(300)}.png`)],
  ['300 four-byte characters (emoji)', Buffer.from(`${'😀'.repeat(300)}.png`)],
  ['zero-width and combining marks', Buffer.from('a\u200b\u0301\u0301\u0301.png')],
];

/**
 * Each hostile filename twice: as the only file of a form whose type the storage refuses (refused
 * early, before anything is written), and as a valid PNG followed by a file over the size limit (the
 * first one is written, then must be removed again: all or nothing). Plus the same names in a raw
 * PUT's Content-Disposition header, with a refused body.
 */
export function filenameCases(target: Target): Case[] {
  const cases: Case[] = [];
  const b = 'name-boundary';
  for (const [index, [name, filename]] of hostileFilenames.entries()) {
    const storage = target.storages[index % 2]!;
    const other = target.storages[(index + 1) % 2]!;
    const headers = [...bearer(target.writerKey), ['Content-Type', formType(b)] as const] as const;
    // A raw CR or LF ends the part header line early: the rest is a malformed header, or a second one.
    const broken = /[\r\n]/.test(filename.toString('latin1'));
    cases.push({
      family: 'filenames',
      name: `${storage}: ${name}, refused type`,
      request: send(
        'POST',
        objectsPath(storage),
        headers,
        form(b, [
          filePart(Buffer.from('MZ\x90\0 not allowed'), { filename, type: 'application/x-msdownload' }),
        ]),
      ),
      expect: broken
        ? error('UNSUPPORTED_MEDIA_TYPE', 'INVALID_MULTIPART', 'NO_FILES')
        : error('UNSUPPORTED_MEDIA_TYPE'),
    });
    cases.push({
      family: 'filenames',
      name: `${other}: ${name}, stored then rolled back (second file too large)`,
      request: send(
        'POST',
        objectsPath(other),
        headers,
        form(b, [filePart(png(1024), { filename }), filePart(png(target.maxFileSize + 100))]),
      ),
      expect: broken
        ? error('PAYLOAD_TOO_LARGE', 'INVALID_MULTIPART', 'UNSUPPORTED_MEDIA_TYPE')
        : error('PAYLOAD_TOO_LARGE'),
    });
    // In a request header, NUL, CR and LF cannot pass Node's parser, nor can a name longer than its
    // 16 KiB limit on the whole head (431); everything else reaches Stowage.
    const inHeader = /[\0\r\n]/.test(filename.toString('latin1')) || filename.length > 16 * 1024;
    cases.push({
      family: 'filenames',
      name: `${storage}: ${name} in a PUT Content-Disposition, refused body`,
      request: send(
        'PUT',
        `${objectsPath(storage)}/named-${index}.bin`,
        [
          ...bearer(target.writerKey),
          ['Content-Type', 'text/html'],
          ['Content-Disposition', `attachment; filename="${filename.toString('latin1')}"`],
        ],
        Buffer.from('<html></html>'),
      ),
      expect: inHeader
        ? protocol('UNSUPPORTED_MEDIA_TYPE', 'BAD_REQUEST')
        : error('UNSUPPORTED_MEDIA_TYPE', 'BAD_REQUEST'),
    });
  }
  // RFC 5987/2231 extended parameters: the parser decodes these itself (charset and percent-escapes).
  const extended = [
    ["UTF-8''%2e%2e%2fescape.png", 'encoded traversal'],
    ["UTF-8''%ff%fe%c0%ae.png", 'invalid UTF-8 escapes'],
    ["UTF-8''%e2%80%aegnp.exe", 'RTL override'],
    ["UTF-8''%00.png", 'NUL'],
    ["UTF-8''%", 'a truncated escape'],
    ["x-unknown-charset''abc.png", 'an unknown charset'],
    ["utf-16le''%ff%fe", 'UTF-16'],
    ["''", 'nothing at all'],
  ] as const;
  for (const [index, [value, name]] of extended.entries()) {
    const storage = target.storages[index % 2]!;
    const headerLines = [
      `Content-Disposition: form-data; name="file"; filename*=${value}`,
      'Content-Type: text/html',
    ];
    cases.push({
      family: 'filenames',
      name: `${storage}: filename* with ${name}, refused type`,
      request: send(
        'POST',
        objectsPath(storage),
        [...bearer(target.writerKey), ['Content-Type', formType(b)]],
        form(b, [rawPart(headerLines, '<html></html>')]),
      ),
      expect: error('UNSUPPORTED_MEDIA_TYPE', 'NO_FILES', 'INVALID_MULTIPART'),
    });
    cases.push({
      family: 'filenames',
      name: `${storage}: filename* with ${name} in a PUT Content-Disposition, refused body`,
      request: send(
        'PUT',
        `${objectsPath(storage)}/extended-${index}.bin`,
        [
          ...bearer(target.writerKey),
          ['Content-Type', 'text/html'],
          ['Content-Disposition', `attachment; filename*=${value}`],
        ],
        Buffer.from('<html></html>'),
      ),
      expect: error('UNSUPPORTED_MEDIA_TYPE', 'BAD_REQUEST'),
    });
  }
  return cases;
}
