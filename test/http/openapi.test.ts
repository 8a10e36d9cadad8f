import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderOpenApi } from '../../src/cli/openapi.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * openapi.yaml is generated from the routes' zod schemas and checked in: this fails when the two
 * drift apart (fix: `npm run openapi`), validates the file as OpenAPI 3.1 with a real validator, and
 * checks what a client relies on: every path parameter declared, every operation with a success
 * response, errors in the one `Error` schema, the multipart upload body, the security schemes.
 */

const CHECKED_IN = new URL('../../openapi.yaml', import.meta.url);

interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string } }> }>;
  security?: Array<Record<string, string[]>>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string }> };
}

const operations = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );

const stowage = useStowage({ storages: () => ({ files: { driver: 'local' } }) });

describe('OpenAPI document', () => {
  it('the checked-in openapi.yaml is what the routes declare (else: npm run openapi)', async () => {
    const generated = await renderOpenApi('yaml');
    const checkedIn = await readFile(CHECKED_IN, 'utf8');
    expect(checkedIn, 'openapi.yaml is out of date: run `npm run openapi` and commit it').toBe(generated);
  });

  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(await readFile(CHECKED_IN, 'utf8'));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('declares every path parameter, a success and the Error schema for every failure', async () => {
    const document = parse(await readFile(CHECKED_IN, 'utf8')) as Document;
    const all = operations(document);
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const { path, method, operation } of all) {
      const where = `${method.toUpperCase()} ${path}`;
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), where).toEqual(inPath);
      expect(
        declared.every((p) => p.required),
        where,
      ).toBe(true);
      const statuses = Object.keys(operation.responses);
      expect(
        statuses.some((status) => /^2\d\d$/.test(status)),
        `${where} has no 2xx`,
      ).toBe(true);
      expect(statuses, where).toContain('500');
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const response = operation.responses[status]!;
        expect(response.description, `${where} ${status}`).not.toBe('Default Response');
        // Readiness answers 503 with its per-storage report; everything else fails with Error.
        if (path === '/readyz') continue;
        expect(response.content?.['application/json']?.schema.$ref, `${where} ${status}`).toBe(
          '#/components/schemas/Error',
        );
      }
    }
    expect(document.components.schemas.Error).toBeDefined();
    expect(document.paths['/v1/storages/{storage}/objects']?.post?.responses['409']?.description).toContain(
      'OBJECT_EXISTS',
    );
    expect(document.paths['/v1/storages/{storage}/objects/{key}']?.head?.responses['200']).toBeDefined();
  });

  it('documents the multipart upload as files and the raw PUT as a binary body', async () => {
    const document = parse(await readFile(CHECKED_IN, 'utf8')) as Document;
    const upload = document.paths['/v1/storages/{storage}/objects']?.post?.requestBody;
    expect(Object.keys(upload?.content ?? {})).toEqual(['multipart/form-data']);
    expect(upload?.content['multipart/form-data']?.schema).toMatchObject({
      type: 'object',
      required: ['file'],
      properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } },
    });
    const put = document.paths['/v1/storages/{storage}/objects/{key}']?.put?.requestBody;
    expect(put?.content['*/*']?.schema).toMatchObject({ type: 'string', format: 'binary' });
    const download = document.paths['/v1/storages/{storage}/objects/{key}']?.get?.responses['200'];
    expect(download?.content?.['*/*']?.schema).toMatchObject({ type: 'string', format: 'binary' });
  });

  it('declares how to authenticate, and storage routes accept a bearer credential, an API key or none', async () => {
    const document = parse(await readFile(CHECKED_IN, 'utf8')) as Document;
    expect(document.components.securitySchemes.bearer?.type).toBe('http');
    expect(document.components.securitySchemes.apiKey?.type).toBe('apiKey');
    for (const { path, method, operation } of operations(document)) {
      if (!path.startsWith('/v1/storages/')) continue;
      expect(operation.security, `${method} ${path}`).toEqual([{ bearer: [] }, { apiKey: [] }, {}]);
      expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
        expect.arrayContaining(['401', '403']),
      );
    }
  });

  it('is served by the running service, with an interactive reference whose assets are served locally', async () => {
    const checkedIn = parse(await readFile(CHECKED_IN, 'utf8')) as unknown;
    const json = await fetch(`${stowage.url}/openapi.json`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json.json()).toEqual(checkedIn);
    const yaml = await fetch(`${stowage.url}/openapi.yaml`);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parse(await yaml.text())).toEqual(checkedIn);

    const page = await fetch(`${stowage.url}/docs/`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    // Over plain http on a non-localhost host, upgrade-insecure-requests blanks the page
    // (fastify-swagger#690); the page's own origin is all it needs.
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    // Every script and stylesheet comes from this service: nothing from the internet.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset, 'an asset from elsewhere').not.toMatch(/^(https?:)?\/\//);
      const response = await fetch(new URL(asset, page.url));
      expect(response.status, asset).toBe(200);
    }
  });
});
