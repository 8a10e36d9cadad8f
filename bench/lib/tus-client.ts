import * as tus from 'tus-js-client';
import { generatedBody } from './body.ts';

/**
 * tus-js-client in Node, as an application uses it, uploading a generated file. Its own readers
 * either need a file on disk or buffer every chunk of a stream (and refuse an unlimited chunk size
 * for streams), so the file is handed over through a `fileReader` whose slices are fresh generated
 * streams: any chunk size, nothing held whole, the same bytes for every server.
 */

const generatedFile = (size: number): tus.FileReader => ({
  openFile: async () => ({
    size,
    async slice(start: number, end: number) {
      // tus-js-client sets Content-Length from `size` and pipes the stream into its request.
      const value = Object.assign(generatedBody(end - start, start), { size: end - start });
      return { value, done: end >= size };
    },
    close() {},
  }),
});

export interface TusUploadInput {
  /** The creation URL (tus POST). */
  endpoint: string;
  size: number;
  /** Bytes per PATCH; Infinity: one PATCH for the whole file. */
  chunkSize: number;
  headers?: Record<string, string>;
}

export interface TusUploadResult {
  /** The upload's URL (the creation's Location). */
  url: string;
  /** The last PATCH's answer. */
  body: string;
}

export function tusUpload(input: TusUploadInput): Promise<TusUploadResult> {
  return new Promise((resolve, reject) => {
    // The file argument is unused by the reader above; tus-js-client only fingerprints it.
    const upload = new tus.Upload(Buffer.alloc(0), {
      endpoint: input.endpoint,
      uploadSize: input.size,
      chunkSize: input.chunkSize,
      headers: input.headers ?? {},
      metadata: { filename: 'bench.bin', filetype: 'application/octet-stream' },
      fileReader: generatedFile(input.size),
      // A failed request fails the run instead of being retried unseen inside a measurement.
      retryDelays: [],
      storeFingerprintForResuming: false,
      onSuccess: ({ lastResponse }) => {
        if (upload.url === null) reject(new Error('tus upload finished without a URL'));
        else resolve({ url: upload.url, body: lastResponse.getBody() });
      },
      onError: reject,
    });
    upload.start();
  });
}
