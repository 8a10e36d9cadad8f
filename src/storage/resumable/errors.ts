import { AppError } from '../../errors.ts';

/**
 * The errors a resumable store answers with, built in one place so every driver's refusals read
 * alike (the route maps them to their statuses: 409, 400, 404, 410).
 */

/** An append at an offset that is not the upload's: the client HEADs for the right one (409). */
export const offsetMismatch = (offset: number): AppError =>
  new AppError('UPLOAD_OFFSET_MISMATCH', `the upload is at offset ${offset}`, {
    details: { offset },
    headers: { 'upload-offset': String(offset) },
  });

/** A body that goes past Upload-Length; nothing of it is kept. */
export const pastLength = (length: number): AppError =>
  new AppError('UPLOAD_PAST_LENGTH', 'the body goes past Upload-Length', {
    details: { uploadLength: length },
  });

export const uploadNotFound = (message = 'no such upload'): AppError =>
  new AppError('UPLOAD_NOT_FOUND', message);

export const uploadFinished = (): AppError =>
  new AppError('UPLOAD_FINISHED', 'the upload is complete: GET its URL for the object');
