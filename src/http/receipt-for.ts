import { describePrincipal, type Principal } from '../auth/principal.ts';
import type { StoredObject } from '../storage/intake.ts';
import type { RouteContext } from './context.ts';

/** An upload answer's object with its signed receipt (src/receipts/receipt.ts). */
export async function withReceipt<
  T extends Omit<StoredObject, 'checksum'> & { checksum?: { sha256: string } },
>(context: RouteContext, principal: Principal, object: T): Promise<T & { receipt: string }> {
  const receipt = await context.receipts.sign({
    storage: object.storage,
    key: object.key,
    size: object.size,
    contentType: object.contentType,
    etag: object.etag,
    sha256: object.checksum?.sha256,
    principal: describePrincipal(principal),
  });
  return { ...object, receipt };
}
