import { AppError } from '../../src/errors.ts';

/** The catalogue code a function throws: 'none' when it returns, 'other' for a non-catalogue error. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? error.code : 'other';
  }
  return 'none';
}
