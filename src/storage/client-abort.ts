import { AppError, isAppError } from '../errors.ts';

/**
 * How a request body dies when its client goes away, whoever reads it: Node's request stream
 * ("aborted", ECONNRESET), stream plumbing (premature close), @fastify/multipart, an AbortSignal.
 * One classification for the upload routes, the write path and the metrics, so a client that left is
 * answered (logged) as CLIENT_CLOSED_REQUEST and counted as an abort, never as a server failure.
 */
const abortCodes = new Set([
  'ERR_STREAM_PREMATURE_CLOSE',
  'FST_MP_PREMATURE_CLOSE',
  'ECONNRESET',
  'ECONNABORTED',
  'ABORT_ERR',
]);

export function isClientAbort(error: unknown): boolean {
  if (isAppError(error)) return error.code === 'CLIENT_CLOSED_REQUEST';
  const code = (error as { code?: string } | undefined)?.code;
  const name = (error as { name?: string } | undefined)?.name;
  return (
    (code !== undefined && abortCodes.has(code)) ||
    name === 'AbortError' ||
    (error as Error | undefined)?.message === 'aborted'
  );
}

/** A body that died because the client went away is the client's doing, not a server error. */
export function asClientAbort(error: unknown): unknown {
  if (isAppError(error) || !isClientAbort(error)) return error;
  return new AppError(
    'CLIENT_CLOSED_REQUEST',
    'the client closed the connection before the upload finished',
    { cause: error },
  );
}
