import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, isAppError } from '../errors.ts';
import { logOnCompletion } from './access-log.ts';
import { discardUnreadBody } from './drain.ts';

/**
 * The one error handler: catalogue errors keep their status and code, framework and plugin errors
 * are translated to catalogue codes, and anything unexpected becomes a logged 500 with a generic
 * message (details stay in the log, never in the response).
 */

/** Fastify and @fastify/multipart error codes that are the client's fault, and what they mean here. */
const frameworkCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_FILES_LIMIT: 'TOO_MANY_FILES',
  FST_PARTS_LIMIT: 'TOO_MANY_PARTS',
  FST_FIELDS_LIMIT: 'TOO_MANY_PARTS',
  FST_PROTO_VIOLATION: 'INVALID_MULTIPART',
  FST_INVALID_JSON_FIELD_ERROR: 'INVALID_MULTIPART',
  FST_MP_PREMATURE_CLOSE: 'CLIENT_CLOSED_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => ({
      in: error.validationContext,
      path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || undefined,
      message: issue.message,
    }));
    return new AppError(
      'VALIDATION_FAILED',
      `invalid request ${error.validationContext}: ${issues[0]?.message ?? ''}`,
      {
        details: { issues },
      },
    );
  }
  const fastifyError = error as Partial<FastifyError> | undefined;
  const mapped = fastifyError?.code ? frameworkCodes[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, fastifyError?.message ?? mapped, { cause: error });
  const status = fastifyError?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // A client error from the framework we have no specific code for (e.g. JSON syntax).
    return new AppError(
      status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST',
      fastifyError?.message ?? 'bad request',
      {
        cause: error,
      },
    );
  }
  return new AppError('INTERNAL_ERROR', 'internal server error', { cause: error });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  // The client stopped listening; there is nobody to answer.
  if (error.code === 'CLIENT_CLOSED_REQUEST') {
    request.log.info({ code: error.code }, error.message);
  } else {
    // Reported on the request's one completion line (access-log.ts); a server error also gets a line
    // of its own at error level, with its cause and stack.
    // Why exactly (diagnostic) and the backend's own code and call are for the log, never the body.
    const backend = error.backend && { backend: error.backend };
    logOnCompletion(request, {
      code: error.code,
      reason: error.message,
      ...(error.diagnostic !== undefined && { diagnostic: error.diagnostic }),
      ...backend,
    });
    if (!error.isClientError)
      request.log.error(
        { err: error.cause ?? error, code: error.code, status: error.status, ...backend },
        error.message,
      );
  }
  discardUnreadBody(request.raw);
  // Also for errors raised before the onRequest hooks ran (undecodable URLs).
  reply.header('x-request-id', request.id);
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send({
      error: {
        code: error.code,
        message: error.message,
        ...(error.details !== undefined && { details: error.details }),
      },
    });
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(request, reply, toAppError(error)));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
