import { describe, expect, it } from 'vitest';
import { bucketLifecycle, lifecycleDays } from '../../src/cli/bucket-settings.ts';
import { readmeSpan } from '../support/readme-commands.ts';

/** The lifecycle rules `stowage bucket-lifecycle` prints, and the copy the README quotes. */
describe('bucket lifecycle rules', () => {
  it('wait resumable.expiry rounded up to whole days, at least one', () => {
    expect([60, 86_400, 86_401, 3 * 86_400].map(lifecycleDays)).toEqual([1, 1, 2, 3]);
  });

  it('are the ones the README quotes (with the default resumable.expiry, 24h)', async () => {
    expect(JSON.parse(await readmeSpan('{"Rules":'))).toEqual(bucketLifecycle());
  });
});
