import { AppError } from '../errors.ts';

/**
 * Deciding an upload's content type. The declared type (multipart part header or Content-Type) is
 * client input and trivially spoofed (supabase/storage#639), so the first bytes are sniffed too
 * (file-type). Rules:
 * - recognised content wins: the stored type is the sniffed one, whatever was declared;
 * - a declared type that the sniffer knows how to recognise but did not find (e.g. "image/png" with
 *   HTML inside) is a lie ⇒ 415 CONTENT_TYPE_MISMATCH;
 * - unrecognisable content (text, CSV, JSON, SVG…) keeps its declared type, or
 *   application/octet-stream when none was given;
 * - the effective type must match the storage's allowlist (exact or `type/*`).
 * Types a browser would execute when served inline are always stored as attachments (see
 * isSafeInline), so an accepted text/html or SVG cannot become stored XSS.
 */

export const GENERIC_TYPE = 'application/octet-stream';

export interface SniffedType {
  mime: string;
  ext: string;
}

/** Strips parameters and case: "Image/PNG; charset=x" → "image/png". Undefined when malformed. */
export function essence(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][\w.+-]*\/[a-z0-9][\w.+-]*$/.test(type) ? type : undefined;
}

export function isAllowed(type: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some(
    (pattern) =>
      pattern === '*/*' ||
      pattern === type ||
      (pattern.endsWith('/*') && type.startsWith(pattern.slice(0, -1))),
  );
}

/** Aliases clients commonly send for a type the sniffer reports under its canonical name. */
const aliases: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-png': 'image/png',
  'audio/mp3': 'audio/mpeg',
  'application/x-zip-compressed': 'application/zip',
  'application/x-pdf': 'application/pdf',
};

export function resolveContentType(input: {
  declared: string | undefined;
  sniffed: SniffedType | undefined;
  sniffable: ReadonlySet<string>;
  allowed: readonly string[];
}): string {
  const declaredRaw = essence(input.declared);
  const declared = declaredRaw ? (aliases[declaredRaw] ?? declaredRaw) : undefined;
  let effective: string;
  if (input.sniffed) {
    effective = input.sniffed.mime;
  } else if (declared && declared !== GENERIC_TYPE && input.sniffable.has(declared)) {
    throw new AppError(
      'CONTENT_TYPE_MISMATCH',
      `the content is not ${declared} (its first bytes do not match that type)`,
      {
        details: { declared },
      },
    );
  } else {
    effective = declared ?? GENERIC_TYPE;
  }
  if (!isAllowed(effective, input.allowed)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `content type ${effective} is not allowed in this storage`, {
      details: { contentType: effective, allowed: input.allowed },
    });
  }
  // A declared type outside the allowlist is refused even when the content sniffs as allowed: the
  // client said it is sending something this storage does not take.
  if (declared && declared !== GENERIC_TYPE && !isAllowed(declared, input.allowed)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `content type ${declared} is not allowed in this storage`, {
      details: { contentType: declared, allowed: input.allowed },
    });
  }
  return effective;
}

const inlineSafe = [
  /^image\/(png|jpeg|gif|webp|avif|bmp|apng|heic|heif)$/,
  /^video\//,
  /^audio\//,
  /^text\/plain$/,
  /^application\/pdf$/,
];

/** Types a browser renders without running script; anything else is served as an attachment. */
export const isSafeInline = (type: string): boolean => inlineSafe.some((pattern) => pattern.test(type));
