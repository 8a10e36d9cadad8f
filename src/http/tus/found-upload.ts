import type { FastifyReply, FastifyRequest } from 'fastify';
import { describePrincipal, type Principal } from '../../auth/principal.ts';
import { AppError, isAppError } from '../../errors.ts';
import type { ResumableStore, ResumableUpload } from '../../storage/resumable/store.ts';
import { decodeUploadId, type UploadTicket } from '../../storage/resumable/upload-id.ts';
import { backendKey, type Storage } from '../../storage/storage.ts';
import { access } from '../access.ts';
import type { RouteContext } from '../context.ts';
import { requireTusVersion, tusHeaders } from '../tus-headers.ts';

/**
 * Finding the upload a request names (src/http/routes/tus.ts): the id is a signed ticket
 * (src/storage/resumable/upload-id.ts), so this is a MAC check and an access check, no lookup.
 */

export interface TusContext extends RouteContext {
  /** MAC key for upload ids (upload-id.ts keyFor). */
  uploadIdKey: Buffer;
  expirySeconds: number;
}

/** An upload a request may touch, with what serving it needs. */
export interface Found {
  storage: Storage;
  store: ResumableStore;
  ticket: UploadTicket;
  upload: ResumableUpload;
  principal: Principal;
  admission: RouteContext['uploads'];
  publicBaseUrl: string | undefined;
  receipts: RouteContext['receipts'];
}

/** The upload an id names, if the caller may touch it: its creator, or a service (API key) with write. */
export async function findUpload(
  request: FastifyRequest<{ Params: { storage: string; id: string } }>,
  reply: FastifyReply,
  context: TusContext,
  options: { tus: boolean } = { tus: true },
): Promise<Found> {
  tusHeaders(reply);
  if (options.tus) requireTusVersion(request.headers);
  const { storage, principal } = await access(request, context, request.params.storage, 'write');
  const ticket = decodeUploadId(request.params.id, context.uploadIdKey);
  if (ticket === undefined || ticket.storage !== storage.name) throw uploadNotFound();
  if (ticket.principal !== describePrincipal(principal) && principal.kind !== 'api-key')
    throw uploadNotFound();
  reply.header('upload-expires', new Date(ticket.expiresAt).toUTCString());
  if (ticket.expiresAt <= Date.now()) throw new AppError('UPLOAD_EXPIRED', 'the upload expired');
  return foundUpload(context, storage, storeOf(storage), ticket, principal);
}

/** What serving an upload needs, for the upload `ticket` names. */
export const foundUpload = (
  context: TusContext,
  storage: Storage,
  store: ResumableStore,
  ticket: UploadTicket,
  principal: Principal,
): Found => ({
  storage,
  store,
  ticket,
  upload: toUpload(storage, ticket),
  principal,
  admission: context.uploads,
  publicBaseUrl: context.publicBaseUrl,
  receipts: context.receipts,
});

export function storeOf(storage: Storage): ResumableStore {
  const store = storage.driver.resumable;
  if (!store)
    throw new AppError('STORAGE_NOT_SUPPORTED', `storage "${storage.name}" does not offer resumable uploads`);
  return store;
}

export const toUpload = (storage: Storage, ticket: UploadTicket): ResumableUpload => ({
  key: backendKey(storage, ticket.key),
  writeId: ticket.writeId,
  length: ticket.length,
  partSize: ticket.partSize,
  expiresAt: ticket.expiresAt,
});

export const uploadNotFound = (message = 'no such upload') => new AppError('UPLOAD_NOT_FOUND', message);
export const finished = () =>
  new AppError('UPLOAD_FINISHED', 'the upload is complete: GET its URL for the object');
export const pastLength = (length: number) =>
  new AppError('UPLOAD_PAST_LENGTH', 'the body goes past Upload-Length', {
    details: { uploadLength: length },
  });

/**
 * HEAD and PATCH when S3 could not say where the upload stands: 423, which tus-js-client retries;
 * any other error makes it start again from byte 0.
 */
export function unsure(error: unknown): never {
  if (isAppError(error) && error.status >= 500) {
    throw new AppError('UPLOAD_LOCKED', 'the upload state could not be read just now; retry', {
      cause: error,
      headers: { 'retry-after': '1' },
    });
  }
  throw error;
}
