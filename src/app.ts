import { randomBytes } from 'node:crypto';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { createAuthenticator } from './auth/authenticate.ts';
import type { Config } from './config/schema.ts';
import { AccessLog } from './http/access-log.ts';
import { UploadAdmission } from './http/admission.ts';
import { registerBrowserGuard } from './http/browser-guard.ts';
import { httpServerOptions, limitConnections } from './http/connections.ts';
import type { RouteContext } from './http/context.ts';
import { registerCors } from './http/cors.ts';
import { registerErrorHandling, sendError, toAppError } from './http/error-handler.ts';
import { registerMetrics } from './http/metrics.ts';
import { registerOpenApi } from './http/openapi.ts';
import { answerProtocolError } from './http/protocol-errors.ts';
import { registerDemo } from './http/routes/demo.ts';
import { directRoutes } from './http/routes/direct.ts';
import { healthRoutes } from './http/routes/health.ts';
import { linkRoutes } from './http/routes/links.ts';
import { listRoutes } from './http/routes/list.ts';
import { objectRoutes } from './http/routes/objects.ts';
import { putRoutes } from './http/routes/put.ts';
import { receiptRoutes } from './http/routes/receipts.ts';
import { storageRoutes } from './http/routes/storages.ts';
import { tusRoutes } from './http/routes/tus.ts';
import { uploadRoutes } from './http/routes/uploads.ts';
import { urlRoutes } from './http/routes/urls.ts';
import { requestId } from './logger.ts';
import { createMetrics, instrumentStorages, observePartPool } from './metrics.ts';
import { createReceiptSigner } from './receipts/receipt.ts';
import { deriveReceiptKey } from './receipts/signing-key.ts';
import { directKeyFor } from './storage/direct/issued-key.ts';
import type { LinkSigner } from './storage/drivers/local/signed-links.ts';
import type { PartPool } from './storage/part-pool.ts';
import { closeStorages } from './storage/registry.ts';
import { keyFor } from './storage/resumable/upload-id.ts';
import type { Storage } from './storage/storage.ts';

export interface AppDependencies {
  storages: ReadonlyMap<string, Storage>;
  /** The signer the local storages were built with; enables the link routes that serve them. */
  links?: LinkSigner;
  logger?: FastifyServerOptions['logger'];
  /** Upload admission (budgets, deadlines, drain); the process passes its own to drain it on SIGTERM. */
  uploads?: UploadAdmission;
  /**
   * The upload memory pool the storages were built with (createStorages), for the admission built
   * here when `uploads` is not given: one budget for first buffers and borrowed ones alike.
   */
  pool?: PartPool;
  /**
   * The secret resumable upload ids are signed with when `resumable.secret` is unset: the process
   * passes the kept local link secret (under its own label, upload-id.ts); else one per process.
   */
  resumableSecret?: string;
}

/**
 * Builds the HTTP app from a parsed config and its storages. Never listens: src/server.ts is the
 * process; tests build apps of their own. Closing the app closes the storages' clients.
 */
export async function buildApp(config: Config, deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    logController: new AccessLog(),
    genReqId: requestId,
    requestIdHeader: false,
    // Each upload has its own deadline (a JSON 408, see admission.ts), counted once it has its buffer;
    // Node's is only a backstop, past the longest wait for one.
    requestTimeout: (config.server.requestTimeout + config.limits.uploadQueueTimeout + 30) * 1000,
    connectionTimeout: config.server.idleTimeout * 1000,
    // JSON bodies are small (URL requests); uploads are streamed and limited per storage instead.
    bodyLimit: 64 * 1024,
    trustProxy: config.server.trustProxy,
    // Draining is handled by the process (server.ts) with JSON errors; fastify's own 503 is not.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 2048, ignoreDuplicateSlashes: false },
    // Errors raised before routing (undecodable URLs…) and by Node's parser get the same JSON shape.
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, toAppError(error));
    },
    clientErrorHandler: answerProtocolError,
    http: httpServerOptions(),
  }).withTypeProvider<ZodTypeProvider>();

  limitConnections(app.server, config.server, app.log);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  // Callback hooks, not async ones: nothing to wait for, and no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onClose', async () => closeStorages(deps.storages));

  // Limits here are only the fallback; every upload route passes its storage's own limits.
  await app.register(multipart, { limits: { fileSize: 0, files: 0, fields: 0, parts: 0, headerPairs: 100 } });

  // Before the routes: the document collects them as they register; metrics observe every storage.
  await registerOpenApi(app);
  const metrics = createMetrics();
  registerMetrics(app, metrics);
  const storages = instrumentStorages(deps.storages, metrics);

  if (config.auth.cors) await registerCors(app, config.auth.cors);
  registerBrowserGuard(app, config);
  const uploads = deps.uploads ?? new UploadAdmission(config, deps.pool);
  observePartPool(metrics, uploads.pool);
  // One server secret, several labelled keys: upload ids, direct-upload keys (HMAC) and receipts
  // (Ed25519) never share one (upload-id.ts, issued-key.ts, signing-key.ts).
  const serverSecret = config.resumable.secret ?? deps.resumableSecret ?? randomBytes(32).toString('hex');
  const receipts = createReceiptSigner(deriveReceiptKey(config.receipts.secret ?? serverSecret));
  const context: RouteContext = {
    storages,
    authenticate: createAuthenticator(config.auth),
    uploads,
    receipts,
    publicBaseUrl: config.server.publicBaseUrl,
  };
  await app.register(healthRoutes, { ...context, isDraining: () => uploads.draining });
  await app.register(storageRoutes, context);
  await app.register(uploadRoutes, context);
  await app.register(putRoutes, context);
  await app.register(tusRoutes, {
    ...context,
    uploadIdKey: keyFor(serverSecret),
    expirySeconds: config.resumable.expiry,
  });
  await app.register(directRoutes, {
    ...context,
    directKey: directKeyFor(serverSecret),
    expirySeconds: config.direct.expiry,
  });
  await app.register(objectRoutes, context);
  await app.register(listRoutes, context);
  await app.register(urlRoutes, context);
  await app.register(receiptRoutes, { receipts });
  if (deps.links) await app.register(linkRoutes, { ...context, links: deps.links });
  if (config.demo.enabled) await registerDemo(app);
  return app;
}
