import { STATUS_CODES } from 'node:http';
import swagger, { type SwaggerTransform } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import packageJson from '../../package.json' with { type: 'json' };
import { errorCatalogue } from '../errors.ts';

/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas (fastify-type-provider-zod's
 * transforms feed @fastify/swagger), served at /openapi.json and /openapi.yaml with an interactive
 * reference at /docs (Swagger UI, assets served by this service; nothing is loaded from elsewhere).
 * `npm run openapi` writes the checked-in openapi.yaml; test/http/openapi.test.ts fails on drift.
 *
 * The transform below adds only what zod cannot say about a route, by rules rather than per route:
 * bodies the handlers read themselves (multipart, raw PUT), raw object bodies, the catalogue codes
 * behind each error status, and the statuses every route of a kind can answer.
 */

export const OPENAPI_PATHS = { json: '/openapi.json', yaml: '/openapi.yaml', docs: '/docs' } as const;

/**
 * Access control, as src/auth/authenticate.ts reads it: a bearer credential (a JWT for end users, an
 * API key for services) or an X-Api-Key header. Storage routes also answer requests without one
 * (public reads, anonymous grants), hence the empty requirement. To change how the API is secured,
 * change these two — or declare `security` in a route's schema, which wins over the default.
 */
export const securitySchemes = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'A JWT (end users) or an API key (services): `Authorization: Bearer <credential>`.',
  },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key (services).' },
} as const;
const storageSecurity = [{ bearer: [] }, { apiKey: [] }, {}];

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** The catalogue codes a status stands for, so each error response names what a client can meet. */
function describeStatus(status: number): string {
  const reason = STATUS_CODES[status] ?? `HTTP ${status}`;
  const codes = Object.entries(errorCatalogue)
    .filter(([, code]) => code === status)
    .map(([name]) => `\`${name}\``);
  return codes.length > 0 ? `${reason}: ${codes.join(', ')}` : reason;
}

/** A multipart upload: every file part is stored (any field name); `file` is the conventional one. */
const multipartFiles = {
  type: 'object',
  required: ['file'],
  properties: {
    file: {
      type: 'array',
      items: { type: 'string', format: 'binary', contentMediaType: 'application/octet-stream' },
      description:
        'One or more files, each its own part with a filename and a Content-Type (checked against the ' +
        'sniffed content). Other small fields are ignored.',
    },
  },
};

const rawBody = {
  type: 'string',
  format: 'binary',
  contentMediaType: 'application/octet-stream',
  description:
    'The object, streamed. Its Content-Type is checked against the sniffed content; the original ' +
    'filename may be given in a Content-Disposition request header.',
};

/** `z.any()` responses are the stored object itself, in its own type. */
const objectBody = { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } };

type JsonObject = Record<string, unknown>;
const isEmptySchema = (value: unknown) =>
  typeof value === 'object' && value !== null && Object.keys(value).length === 0;

/** Fastify's `*` wildcard is an object key that may contain "/": `{key}` in the document. */
function renameWildcard(params: unknown): unknown {
  const schema = params as { properties?: JsonObject; required?: string[] } | undefined;
  if (!schema?.properties || !('*' in schema.properties)) return params;
  const { '*': key, ...rest } = schema.properties;
  return {
    ...schema,
    properties: { ...rest, key },
    ...(schema.required && { required: schema.required.map((name) => (name === '*' ? 'key' : name)) }),
  };
}

function tagOf(path: string): string {
  if (path.startsWith('/v1/storages')) return 'storages';
  if (path.startsWith('/v1/')) return 'links';
  return 'operations';
}

function documentResponses(schema: JsonObject, path: string, method: string): JsonObject {
  const responses: JsonObject = { ...((schema.response as JsonObject | undefined) ?? {}) };
  const add = (status: number, response: unknown = ERROR_REF) => {
    if (!(status in responses)) responses[status] = response;
  };
  // HEAD answers with GET's headers and never a body.
  if (method === 'HEAD' && !Object.keys(responses).some((status) => status.startsWith('2')))
    add(200, { type: 'null' });
  if (schema.params || schema.querystring || schema.body) add(400);
  if (path.startsWith('/v1/storages/')) {
    add(401); // no or invalid credentials
    add(403); // credentials without the grant
    add(404); // STORAGE_NOT_FOUND
  }
  add(500);
  for (const [status, response] of Object.entries(responses)) {
    if (isEmptySchema(response)) responses[status] = objectBody;
  }
  return responses;
}

const transform: SwaggerTransform = (input) => {
  const { schema, url } = jsonSchemaTransform(input as Parameters<typeof jsonSchemaTransform>[0]);
  const source = schema as JsonObject | undefined;
  if (!source || source.hide) return { schema, url };
  const method = String(input.route.method);
  const path = url.endsWith('/*') ? `${url.slice(0, -1)}{key}` : url;
  const out: JsonObject = { ...source, params: renameWildcard(source.params) };
  if (out.params === undefined) delete out.params;
  if (!out.body) {
    const consumes = (out.consumes as string[] | undefined) ?? [];
    if (consumes.includes('multipart/form-data')) out.body = multipartFiles;
    else if (method === 'PUT') {
      out.body = rawBody;
      out.consumes = ['*/*'];
    }
  }
  out.response = documentResponses(out, path, method);
  out.tags ??= [tagOf(path)];
  if (path.startsWith('/v1/storages/') && !out.security) out.security = storageSecurity;
  return { schema: out as FastifySchema, url: path };
};

/** Names of the component schemas referenced anywhere inside `value`. */
function schemaRefs(value: unknown): string[] {
  const text = JSON.stringify(value ?? null);
  return [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1] as string);
}

/**
 * The last pass over the whole document: each response described by its status (and, for errors, the
 * catalogue codes it stands for); component schemas no operation uses dropped (the zod transform emits
 * an input and an output variant of every named schema); and no shared objects, so the YAML has no
 * anchors that some tools cannot read.
 */
function finishDocument(document: object): object {
  const copy = JSON.parse(JSON.stringify(document)) as {
    paths?: Record<string, Record<string, { responses?: Record<string, { description?: string }> }>>;
    components?: { schemas?: JsonObject };
  };
  for (const operations of Object.values(copy.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (response.description !== undefined && response.description !== 'Default Response') continue;
        const code = Number(status);
        response.description = code >= 400 ? describeStatus(code) : (STATUS_CODES[code] ?? status);
      }
    }
  }
  const schemas = copy.components?.schemas;
  if (schemas) {
    // Reachable from the operations, then through the schemas they reference.
    const reached = new Set<string>();
    const queue = [...schemaRefs(copy.paths)];
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      if (reached.has(name)) continue;
      reached.add(name);
      queue.push(...schemaRefs(schemas[name]));
    }
    for (const name of Object.keys(schemas)) if (!reached.has(name)) delete schemas[name];
  }
  return copy;
}

/**
 * Fastify adds a HEAD route for every GET (same options, same schema object); @fastify/swagger leaves
 * all HEAD routes out. Explicit HEAD routes (e.g. object metadata) are documented, the copies not.
 */
function documentExplicitHeadRoutes(app: FastifyInstance): void {
  const getSchemas = new Map<string, unknown>();
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.method === 'GET') getSchemas.set(route.url, route.schema);
    if (route.method === 'HEAD' && route.schema !== undefined && getSchemas.get(route.url) !== route.schema) {
      route.config = { ...route.config, swagger: { exposeHeadRoute: true } };
    }
  });
}

/**
 * The policy of /docs. @fastify/swagger-ui's own (`staticCSP: true`) ends in
 * `upgrade-insecure-requests`, which makes browsers fetch the page's assets over https: over plain
 * http on any host but localhost Swagger UI stays blank (fastify-swagger#690). Everything is served by
 * this service from the page's own origin, so `'self'` says it all, on http and https alike.
 */
export const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; font-src 'self' data:; frame-ancestors 'self'; " +
  "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self'; " +
  "form-action 'self'";

/** Registers the document and its routes; must run before the routes are registered. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  documentExplicitHeadRoutes(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stowage',
        version: packageJson.version,
        description:
          'One HTTP service in front of many S3 buckets: named storages, streamed uploads, ' +
          'collision-safe keys, presigned downloads. Every error is `{"error":{"code","message","details"?}}` ' +
          'with a stable code (schema `Error`).',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      components: { securitySchemes },
      tags: [
        { name: 'storages', description: 'Objects in named storages: upload, read, list, delete, links.' },
        {
          name: 'links',
          description: 'Reads through service-signed and public links (local-disk storages).',
        },
        { name: 'operations', description: 'Health and readiness.' },
      ],
    },
    transform,
    transformObject: (input) => finishDocument(jsonSchemaTransformObject(input)),
  });
  await app.register(swaggerUi, {
    routePrefix: OPENAPI_PATHS.docs,
    staticCSP: DOCS_CSP,
    uiConfig: { deepLinking: true, tryItOutEnabled: false },
  });
  app.get(OPENAPI_PATHS.json, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(app.swagger()),
  );
  app.get(OPENAPI_PATHS.yaml, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })),
  );
}
