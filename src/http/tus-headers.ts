import type { FastifyReply } from 'fastify';
import { AppError } from '../errors.ts';
import { essence } from '../storage/content-type.ts';
import { sanitizeFilename } from '../storage/keys.ts';

/**
 * The tus 1.0.0 headers (https://tus.io/protocols/resumable-upload): what every answer carries and
 * how request headers are read. Concatenation and deferred length are not offered (not in
 * Tus-Extension): an upload declares its length at creation.
 */
export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,termination,expiration';
export const OFFSET_STREAM = 'application/offset+octet-stream';
/** Upload-Metadata is a header: bounded well below any proxy's header limit. */
const MAX_METADATA_BYTES = 4096;
const MAX_FILETYPE_CHARS = 127;

export function tusHeaders(reply: FastifyReply): FastifyReply {
  return reply.header('tus-resumable', TUS_VERSION).header('cache-control', 'no-store');
}

/** The discovery headers (OPTIONS). */
export function tusCapabilities(reply: FastifyReply, maxSize: number | undefined): FastifyReply {
  tusHeaders(reply).header('tus-version', TUS_VERSION).header('tus-extension', TUS_EXTENSIONS);
  return maxSize === undefined ? reply : reply.header('tus-max-size', maxSize);
}

/** Every request but OPTIONS names the protocol version (412 with Tus-Version otherwise). */
export function requireTusVersion(headers: Record<string, unknown>): void {
  if (headers['tus-resumable'] !== TUS_VERSION) {
    throw new AppError('TUS_VERSION_UNSUPPORTED', `Tus-Resumable must be ${TUS_VERSION}`, {
      headers: { 'tus-version': TUS_VERSION, 'tus-resumable': TUS_VERSION },
    });
  }
}

/** A non-negative integer header (Upload-Length, Upload-Offset); 400 when absent or malformed. */
export function byteCount(value: unknown, name: string): number {
  const number = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number)) {
    throw new AppError('BAD_REQUEST', `${name} must be a non-negative integer`, {
      ...(value === undefined &&
        name === 'Upload-Length' && {
          details: { reason: 'deferred length (Upload-Defer-Length) is not supported' },
        }),
    });
  }
  return number;
}

/**
 * `filename` and `filetype` from Upload-Metadata (`key base64,key base64`): bounded, UTF-8, the name
 * sanitised as a form upload's; other keys are ignored (Uppy sends `name`, `type` and more).
 */
export function parseUploadMetadata(header: unknown): {
  filename?: string;
  filetype?: string;
} {
  if (header === undefined) return {};
  if (typeof header !== 'string' || Buffer.byteLength(header) > MAX_METADATA_BYTES) {
    throw new AppError(
      'BAD_REQUEST',
      `Upload-Metadata must be one header of at most ${MAX_METADATA_BYTES} bytes`,
    );
  }
  const values = new Map<string, string>();
  for (const pair of header.split(',')) {
    const [key, value, ...rest] = pair.trim().split(' ');
    if (!key || rest.length > 0 || (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)))
      throw new AppError('BAD_REQUEST', 'Upload-Metadata must be comma-separated `key base64` pairs');
    values.set(key, value === undefined ? '' : utf8(Buffer.from(value, 'base64')));
  }
  const filename = sanitizeFilename(values.get('filename'));
  const declared = values.get('filetype');
  const filetype = declared && declared.length <= MAX_FILETYPE_CHARS ? essence(declared) : undefined;
  return { ...(filename !== undefined && { filename }), ...(filetype !== undefined && { filetype }) };
}

const decoder = new TextDecoder('utf-8', { fatal: true });
function utf8(bytes: Buffer): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new AppError('BAD_REQUEST', 'Upload-Metadata values must be UTF-8');
  }
}
