import { AppError, isAppError } from '../../../errors.ts';

/** The errno of a Node fs error, if it is one. */
export const errorCode = (error: unknown): string | undefined =>
  error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;

/**
 * Translates an unexpected filesystem failure into the catalogue (STORAGE_ERROR, 502). The message a
 * client sees names the storage and the operation, never a path or the key (whose profile prefix is
 * hidden from clients); the original error stays as `cause`
 * for the log. Catalogue errors pass through unchanged.
 */
export function storageError(error: unknown, storage: string, operation: string): AppError {
  if (isAppError(error)) return error;
  const code = errorCode(error);
  if (code === 'ENAMETOOLONG')
    return new AppError('INVALID_KEY', 'Invalid key: too long for this filesystem', { cause: error });
  return new AppError('STORAGE_ERROR', `Local storage "${storage}" failed to ${operation}`, {
    cause: error,
    details: { storage, operation, ...(code ? { code } : {}) },
  });
}
