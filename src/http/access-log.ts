import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * One log line per request, written once the response is sent (a "canonical log line"): the request
 * (method, URL with secrets masked, host, client), its status and duration, and what the route did
 * (storage, key, bytes, error code…), added with `logOnCompletion`. Fastify's default is a line when the
 * request arrives and another when it is answered, and routes added a third: three pino writes per
 * small upload (≈ 7 % of its CPU, bench/README.md), and three lines to join by reqId to read one request.
 *
 * The arrival line is kept at debug level, for following requests that never finish. A request whose
 * response cannot be sent (the client left) has no completion line; the error handler logs it.
 */
export class AccessLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime, ...fieldsOf.get(request) };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

const fieldsOf = new WeakMap<FastifyRequest, Record<string, unknown>>();

/** Adds fields to the request's completion line (later calls add to and override earlier ones). */
export function logOnCompletion(request: FastifyRequest, fields: Record<string, unknown>): void {
  const earlier = fieldsOf.get(request);
  fieldsOf.set(request, earlier ? { ...earlier, ...fields } : fields);
}
