import type { Authenticator } from '../auth/authenticate.ts';
import { AppError } from '../errors.ts';
import type { ReceiptSigner } from '../receipts/receipt.ts';
import type { Storage } from '../storage/storage.ts';
import type { UploadAdmission } from './admission.ts';

/** What routes need from the app: the storages by name and who is asking. Passed as plugin options. */
export interface RouteContext {
  storages: ReadonlyMap<string, Storage>;
  authenticate: Authenticator;
  uploads: UploadAdmission;
  /** Signs the receipt every upload answer carries. */
  receipts: ReceiptSigner;
  /** `server.publicBaseUrl`: the base of absolute URLs to this service's routes (absolute-url.ts). */
  publicBaseUrl?: string | undefined;
}

export function findStorage(context: RouteContext, name: string): Storage {
  const storage = context.storages.get(name);
  if (!storage) throw new AppError('STORAGE_NOT_FOUND', `no storage named "${name}"`);
  return storage;
}
