import type { ReceiptSigner } from '../receipts/receipt.ts';
import type { StoredObject } from '../storage/intake.ts';

/**
 * An upload answer's object with its signed receipt (src/receipts/receipt.ts). `uploader` is
 * describePrincipal() of whoever uploaded it: for a resumable upload its creator, whoever sent the
 * last bytes.
 */
export async function withReceipt<
  T extends Omit<StoredObject, 'checksum'> & { checksum?: { sha256: string } },
>(receipts: ReceiptSigner, uploader: string, object: T): Promise<T & { receipt: string }> {
  const receipt = await receipts.sign({
    storage: object.storage,
    key: object.key,
    size: object.size,
    contentType: object.contentType,
    etag: object.etag,
    sha256: object.checksum?.sha256,
    principal: uploader,
  });
  return { ...object, receipt };
}
