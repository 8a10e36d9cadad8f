import type { FastifyInstance } from 'fastify';
import { shuttingDown, type UploadAdmission } from './http/admission.ts';

/** How long aborted uploads get to clean up (abort their multipart uploads) before we stop waiting. */
const ABORT_CLEANUP_MS = 15_000;
/** How long other requests (downloads) get once uploads are done, before connections are cut. */
const CLOSE_MS = 5_000;

/**
 * Graceful stop: readiness turns false and new uploads are refused (503) at once, while reads go on
 * being served; in-flight uploads get `graceMs` to finish; whatever is still running then is aborted
 * through its AbortSignal, so each driver removes its partial data (multipart upload aborted, temp
 * file deleted) before the request is answered; then the server closes.
 */
export async function drain(app: FastifyInstance, uploads: UploadAdmission, graceMs: number): Promise<void> {
  uploads.startDraining();
  app.log.info(
    { graceMs, inFlight: uploads.inFlight },
    'draining: readiness is false, new uploads are refused',
  );
  const finished = await Promise.race([
    uploads.whenIdle().then(() => true),
    sleep(graceMs).then(() => false),
  ]);
  if (!finished) {
    app.log.warn({ inFlight: uploads.inFlight }, 'grace period over: aborting the uploads still running');
    uploads.abortAll(shuttingDown('the server is shutting down; the upload was aborted'));
    await Promise.race([uploads.whenIdle(), sleep(ABORT_CLEANUP_MS)]);
  }
  const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_MS);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
