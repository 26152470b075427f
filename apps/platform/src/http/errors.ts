import { sqlState } from '@albatross/cqrs';
import { AlbatrossError, ErrorCode, httpStatusOf, toAlbatrossError } from '@albatross/protocol';
import type { Logger } from '@albatross/server';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';

/**
 * The one error normaliser of the platform's HTTP API: whatever a route,
 * a hook, Fastify or the validator throws becomes `{ code, message,
 * details? }` with a code from the shared list and its status. Unknown
 * errors are logged and answered `INTERNAL` without their message, so
 * internals never leak.
 */
export function normaliseError(error: unknown): AlbatrossError {
  if (error instanceof AlbatrossError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      path: [v.instancePath.replace(/^\//, '').replaceAll('/', '.')].filter((p) => p !== '').join('.'),
      in: error.validationContext ?? 'body',
      message: v.message ?? 'invalid',
    }));
    const first = issues[0];
    return new AlbatrossError(
      ErrorCode.INVALID_MESSAGE,
      `invalid ${error.validationContext ?? 'request'}${first ? `: ${first.path === '' ? '' : `${first.path}: `}${first.message}` : ''}`,
      { details: { issues } },
    );
  }
  if (isResponseSerializationError(error)) {
    return new AlbatrossError(ErrorCode.INTERNAL, 'internal error', { cause: error });
  }
  const fastifyCode = (error as Partial<FastifyError> | null)?.code;
  switch (fastifyCode) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AlbatrossError(ErrorCode.MESSAGE_TOO_LARGE, 'request body too large', { cause: error });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'unsupported content type: send application/json', {
        cause: error,
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'empty JSON body', { cause: error });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'request body is not valid JSON', { cause: error });
    // Router errors (a path parameter over the router's length limit, a malformed URL):
    // Fastify answers them itself unless `frameworkErrors` hands them here.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'a path parameter is too long', { cause: error });
    case 'FST_ERR_BAD_URL':
      return new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'malformed URL', { cause: error });
    case 'FST_ERR_VALIDATION':
      return new AlbatrossError(ErrorCode.INVALID_MESSAGE, (error as Error).message, { cause: error });
    default:
      break;
  }
  // A value the database refuses (class 22, "data exception": a NUL byte, a
  // number out of range) is bad input that slipped past a schema, not a crash.
  if (sqlState(error)?.startsWith('22')) {
    return new AlbatrossError(
      ErrorCode.INVALID_MESSAGE,
      'a value of the request is out of range or not representable',
      {
        cause: error,
      },
    );
  }
  // Fastify's body parser reports bad JSON as a SyntaxError with status 400.
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (error instanceof SyntaxError || statusCode === 400) {
    return new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'request body is not valid JSON', { cause: error });
  }
  if (statusCode === 413) return new AlbatrossError(ErrorCode.MESSAGE_TOO_LARGE, 'request too large', { cause: error });
  if (statusCode === 415) {
    return new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'unsupported content type: send application/json', {
      cause: error,
    });
  }
  return toAlbatrossError(error);
}

/** The JSON body of an error answer. */
export function errorBody(error: AlbatrossError): { code: string; message: string; details?: Record<string, unknown> } {
  return {
    code: error.code,
    message: error.message,
    ...(error.details === undefined ? {} : { details: { ...error.details } }),
  };
}

/**
 * Fastify's `frameworkErrors` option: router errors answered by the same
 * normaliser, so they carry a code from the shared list like every other error.
 */
export function frameworkErrors(error: unknown, _request: unknown, reply: FastifyReply): void {
  const normalised = normaliseError(error);
  void reply.status(httpStatusOf[normalised.code]).type('application/json; charset=utf-8').send(errorBody(normalised));
}

/** Installs the normaliser as the error and not-found handlers of `app`. */
export function installErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error, request, reply) => {
    const normalised = normaliseError(error);
    const status = httpStatusOf[normalised.code];
    if (status >= 500) logger.error({ err: error, method: request.method, url: request.url }, 'request failed');
    const retryAfter = normalised.details?.retry_after_s;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
    return reply.status(status).type('application/json; charset=utf-8').send(errorBody(normalised));
  });
  app.setNotFoundHandler((request, reply) => {
    return reply
      .status(404)
      .type('application/json; charset=utf-8')
      .send({ code: ErrorCode.NOT_FOUND, message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
}
