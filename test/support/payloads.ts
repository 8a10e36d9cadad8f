import { createHash, randomBytes } from 'node:crypto';

/** Test bodies whose type a sniffer recognises (or deliberately does not). */

/** A real 1×1 PNG (signature, IHDR, IDAT, IEND): file-type walks the chunks, so a bare signature is not enough. */
const ONE_PIXEL_PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005000201d3a3e5300000000049454e44ae426082',
  'hex',
);

/** A valid PNG followed by random bytes (ignored by decoders after IEND), `size` bytes in all. */
export function png(size = 2048): Buffer {
  return Buffer.concat([ONE_PIXEL_PNG, randomBytes(Math.max(0, size - ONE_PIXEL_PNG.length))]);
}

/** A PDF header followed by random bytes. */
export function pdf(size = 2048): Buffer {
  const head = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  return Buffer.concat([head, randomBytes(Math.max(0, size - head.length))]);
}

export const text = (content: string): Buffer => Buffer.from(content, 'utf8');

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export interface FilePart {
  field?: string;
  name: string;
  type?: string;
  data: Buffer;
}

/** multipart/form-data with the given file parts, through the platform FormData (a real encoder). */
export function form(...files: FilePart[]): FormData {
  const body = new FormData();
  for (const file of files) {
    body.append(
      file.field ?? 'file',
      new Blob([new Uint8Array(file.data)], file.type ? { type: file.type } : {}),
      file.name,
    );
  }
  return body;
}
