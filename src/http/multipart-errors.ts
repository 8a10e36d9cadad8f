import { AppError, isAppError } from '../errors.ts';
import { asClientAbort } from '../storage/client-abort.ts';
import { sanitizeFilename } from '../storage/keys.ts';

/**
 * What a refused multipart upload answers: the parser's failures in our own words, and, when one
 * file was being stored, which one (so a client sending ten files knows which to fix).
 */

/** The file part a failure happened in: its form field, its position among the files, its name. */
export interface FailingFile {
  field: string;
  /** 0-based, counting file parts only. */
  index: number;
  filename?: string;
}

export function failingFile(
  part: { fieldname: string; filename: string | undefined },
  index: number,
): FailingFile {
  const filename = sanitizeFilename(part.filename);
  return { field: part.fieldname, index, ...(filename !== undefined && { filename }) };
}

/** A failure of the upload as the client should see it, naming the file it happened in. */
export function asUploadError(error: unknown, limits: { maxFiles: number }, file?: FailingFile): unknown {
  // The parser's own read of the request fails too when the client leaves between file parts (or
  // before the first one): Node's "aborted" (ECONNRESET), which is no server error.
  const translated = asMultipartError(asClientAbort(error), limits);
  if (!file || !isAppError(translated) || translated.code === 'CLIENT_CLOSED_REQUEST') return translated;
  const { details } = translated;
  // Details that are not a plain object (none of the write path's are) stay as they are.
  if (details !== undefined && (typeof details !== 'object' || details === null || Array.isArray(details)))
    return translated;
  return new AppError(translated.code, translated.message, {
    details: { ...(details as object | undefined), file },
    cause: translated.cause,
    headers: { ...translated.headers },
  });
}

/**
 * Busboy reports malformed bodies as plain Errors ("Unexpected end of form", "Malformed part
 * header"…). Everything else reaching here is already a catalogue or framework error, so a plain
 * Error from the parser is the client's malformed multipart body. Programming errors stay 500s.
 */
function asMultipartError(error: unknown, { maxFiles }: { maxFiles: number }): unknown {
  if (isAppError(error)) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  // @fastify/multipart says "reach files limit": the client needs the limit itself.
  if (code === 'FST_FILES_LIMIT') {
    return new AppError(
      'TOO_MANY_FILES',
      `too many files: at most ${maxFiles} ${maxFiles === 1 ? 'file' : 'files'} per request`,
      { details: { maxFiles }, cause: error },
    );
  }
  if (code !== undefined) return error;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError)
    return error;
  if (error instanceof Error) {
    return new AppError('INVALID_MULTIPART', `malformed multipart body: ${error.message}`, { cause: error });
  }
  return error;
}
