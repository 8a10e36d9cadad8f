import { pdf, png } from '../../support/payloads.ts';
import { bearer, type Case, type Expectation, error, objectsPath, send, type Target } from '../case.ts';

/** Bodies the allowlist refuses, whatever they claim to be; and uploads that are not forms at all. */
export function contentTypeCases(target: Target): Case[] {
  const cases: Case[] = [];
  const auth = bearer(target.writerKey);
  const html = Buffer.from('<!doctype html><html><script>alert(document.cookie)</script></html>');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  const zip = Buffer.concat([
    Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'),
    Buffer.alloc(200, 1),
  ]);
  const elf = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\x00', 'latin1'), Buffer.alloc(200)]);
  for (const [slot, storage] of target.storages.entries()) {
    const typed =
      (method: 'POST' | 'PUT', path: string) =>
      (name: string, type: string | undefined, body: Buffer, expect: Expectation) =>
        cases.push({
          family: 'content-types',
          name: `${storage}: ${method} ${name}`,
          request: send(method, path, [...auth, ...(type ? [['Content-Type', type] as const] : [])], body),
          expect,
        });
    const upload = typed('POST', objectsPath(storage));
    const put = typed('PUT', `${objectsPath(storage)}/typed-${slot}.bin`);
    const unsupported = error('UNSUPPORTED_MEDIA_TYPE');
    upload('a PNG as the raw body (no form)', 'image/png', png(1024), unsupported);
    upload('JSON', 'application/json', Buffer.from('{"file":"x"}'), unsupported);
    upload('text/plain', 'text/plain', Buffer.from('file=x'), unsupported);
    upload('form-urlencoded', 'application/x-www-form-urlencoded', Buffer.from('file=%89PNG'), unsupported);
    upload('no Content-Type', undefined, png(1024), unsupported);
    upload('Content-Type ";;;"', ';;;', png(1024), unsupported);
    upload('"multipart/form-dataX; boundary=b"', 'multipart/form-dataX; boundary=b', png(1024), unsupported);
    upload('a 4 KiB Content-Type', `application/${'x'.repeat(4096)}`, png(1024), unsupported);

    put('HTML declared as HTML', 'text/html', html, unsupported);
    put('HTML declared as PNG', 'image/png', html, error('CONTENT_TYPE_MISMATCH'));
    put('SVG with a script', 'image/svg+xml', svg, error('UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH'));
    put('ZIP declared as PNG', 'image/png', zip, error('UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH'));
    put(
      'ELF executable declared as PDF',
      'application/pdf',
      elf,
      error('UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH'),
    );
    put(
      'PDF header glued after HTML',
      'application/pdf',
      Buffer.concat([html, pdf(512)]),
      error('CONTENT_TYPE_MISMATCH', 'UNSUPPORTED_MEDIA_TYPE'),
    );
    put('HTML with a garbage Content-Type', ';;;', html, unsupported);
    put(
      'HTML with a type list "image/png, text/html"',
      'image/png, text/html',
      html,
      error('UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH'),
    );
    put(
      'HTML with the wildcard "image/*"',
      'image/*',
      html,
      error('UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH'),
    );
    put(
      'empty body declared as PNG',
      'image/png',
      Buffer.alloc(0),
      error('CONTENT_TYPE_MISMATCH', 'UNSUPPORTED_MEDIA_TYPE'),
    );
    put('empty body, no Content-Type', undefined, Buffer.alloc(0), unsupported);
    put(
      'one byte over the limit (Content-Length)',
      'image/png',
      png(target.maxFileSize + 1),
      error('PAYLOAD_TOO_LARGE'),
    );
  }
  return cases;
}
