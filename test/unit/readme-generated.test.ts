import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../src/cli/config-reference.ts';
import { updateReadme } from '../../src/cli/docs.ts';
import { configSchema } from '../../src/config/schema.ts';
import { errorCatalogue } from '../../src/errors.ts';

/**
 * The README's error table and configuration reference are generated from their single sources (the
 * error catalogue, the zod config schema), like openapi.yaml from the routes: this fails when the
 * checked-in README differs from what `npm run docs` writes, or when a config field has no
 * `.describe()` sentence to put in it.
 */

const readme = () => readFile(new URL('../../README.md', import.meta.url), 'utf8');

describe('README generated sections', () => {
  it('are what the error catalogue and the config schema say (else: npm run docs)', async () => {
    const checkedIn = await readme();
    expect(checkedIn, 'README.md is out of date: run `npm run docs` and commit it').toBe(
      updateReadme(checkedIn),
    );
  });

  it('list every error code with its status', async () => {
    const text = await readme();
    for (const [code, status] of Object.entries(errorCatalogue)) {
      expect(text, code).toMatch(new RegExp(`\\| ${status} \\| \`${code}\` \\| \\S`));
    }
  });

  it('describe every config field, the sections and fields of the review included', async () => {
    const rows = configReference(configSchema);
    expect(rows.filter((row) => !row.description).map((row) => row.path)).toEqual([]);
    const text = await readme();
    for (const path of [
      'storages.<name>.ownerPrefix',
      'storages.<name>.publicBaseUrl',
      'server.trustProxy',
      'server.requestTimeout',
      'limits.uploadMemory',
      'limits.uploadsPerPrincipal',
      'local.root',
      'local.publicBaseUrl',
      'auth.cors.origins',
    ]) {
      expect(text, path).toContain(`| \`${path}\``);
    }
    // Every field of every section is in the table, driver-specific ones marked.
    expect(rows.length).toBeGreaterThan(60);
    expect(rows.find((row) => row.path === 'storages.<name>.bucket')?.only).toEqual(['s3']);
    expect(rows.find((row) => row.path === 'storages.<name>.directory')?.only).toEqual(['local']);
    expect(rows.find((row) => row.path === 'storages.<name>.prefix')?.only).toBeUndefined();
  });

  it('a LICENSE file carries the license package.json names', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    const license = await readFile(new URL('../../LICENSE', import.meta.url), 'utf8');
    expect(pkg.license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} Stowage contributors\n/);
  });
});
