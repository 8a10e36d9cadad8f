import type { Readable, Writable } from 'node:stream';

/**
 * `source.pipe(target)` with failures carried both ways, as `stream.pipeline(source, target)` does
 * for the write path (intake.ts): the source failing or closing before its end (a client gone
 * mid-body) destroys the target with that error, so whoever reads the target sees it; the target
 * failing (the size limit) or closing early destroys the source. Not pipeline itself: it makes an
 * AbortController per call and aborts it when the flow ends, and that abort builds a DOMException
 * with a stack trace every time — a few per cent of a small upload's CPU (bench/README, "Small
 * uploads: the service side"). The listeners stay attached, so an error either stream emits late
 * never goes unheard.
 */
export function feed(source: Readable, target: Writable): void {
  source.on('error', (error) => target.destroy(error));
  source.once('close', () => {
    if (!source.readableEnded) target.destroy(source.errored ?? prematureClose());
  });
  target.on('error', (error) => {
    if (!source.destroyed) source.destroy(error);
  });
  target.once('close', () => {
    if (!target.writableFinished && !source.destroyed) source.destroy(target.errored ?? prematureClose());
  });
  source.pipe(target);
}

const prematureClose = () =>
  Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
