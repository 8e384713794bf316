import { isConditionalCheckFailed } from '../dynamodb/messages.repository.js';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RateLimitedException } from '../rate-limit/rate-limiter.service.js';

/**
 * The error body of every failed call: `statusCode`, the HTTP reason phrase as `error`, a short
 * `message`, and for a refused request every failing code at once in `errors` (e.g. `message_blank`).
 */
export interface ApiError {
  statusCode: number;
  error: string;
  message: string;
  errors?: string[];
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
]);
/** Postgres: admin shutdown, too many connections, statement timeout (`statement_timeout` cancelled it). */
const POSTGRES_UNAVAILABLE = new Set(['57P01', '53300', '57014']);
const AWS_UNAVAILABLE = new Set([
  'TimeoutError',
  'ResourceNotFoundException',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

/**
 * AWS refusing a call for want of permission (DynamoDB's AccessDeniedException; AccessDenied in other
 * services). It is the deployment's fault (a role's policy lacks an action), not the client's and not
 * a passing outage, so it is neither a 4xx nor a 503 the client should retry: it stays a 500, which
 * the API's 5xx alarm sees.
 */
export function isAwsAccessDenied(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AccessDeniedException' || name === 'AccessDenied';
}

/** True when an error says a dependency (DynamoDB, Postgres, Cognito) is down or overloaded, not that the request was wrong. */
export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown; $metadata?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || POSTGRES_UNAVAILABLE.has(e.code))) return true;
  if (typeof e.name === 'string' && AWS_UNAVAILABLE.has(e.name)) return true;
  if (
    typeof e.message === 'string' &&
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(
      e.message,
    )
  )
    return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDependencyUnavailable(inner, depth + 1))) return true;
  return isDependencyUnavailable(e.cause, depth + 1);
}

/**
 * Maps everything thrown by a request to the JSON error shape: Nest's HTTP exceptions as they are,
 * the body parsers' and Fastify's refusals (malformed JSON 400, oversized 413, other media 415), dependency failures 503, a lost race on a
 * conditional write 409, AWS's AccessDenied 500 (logged as the deployment fault it is), anything
 * else 500. Never a stack trace in a response.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = this.toApiError(exception);
    if (body.statusCode === Number(HttpStatus.SERVICE_UNAVAILABLE)) reply.header('Retry-After', '1');
    if (exception instanceof RateLimitedException) reply.header('Retry-After', String(exception.retryAfterSeconds));
    void reply.status(body.statusCode).send(body);
  }

  private toApiError(exception: unknown): ApiError {
    // Nest hands the body parsers' and Fastify's 4xx errors over as HttpExceptions caused by them.
    const bodyError = bodyParserError(exception instanceof HttpException ? exception.cause : exception);
    if (bodyError) return bodyError;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const payload = exception.getResponse();
      const fields = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
      return {
        statusCode: status,
        error: typeof fields.error === 'string' ? fields.error : reason(status),
        message:
          typeof fields.message === 'string'
            ? fields.message
            : Array.isArray(fields.message)
              ? fields.message.join('; ')
              : exception.message,
        ...(Array.isArray(fields.errors) ? { errors: fields.errors.map(String) } : {}),
      };
    }
    if (isDependencyUnavailable(exception)) {
      this.logger.warn(`dependency unavailable: ${describe(exception)}`);
      return { statusCode: 503, error: reason(503), message: 'A backing service is unavailable; try again shortly' };
    }
    if (isConditionalCheckFailed(exception)) {
      return { statusCode: 409, error: reason(409), message: 'The item changed concurrently; try again' };
    }
    if (isAwsAccessDenied(exception)) {
      // AWS's message names the action and the resource ("… is not authorized to perform: dynamodb:GetItem on resource: …").
      const requestId = (exception as { $metadata?: { requestId?: string } }).$metadata?.requestId;
      this.logger.error(
        `AWS refused a call: the deployment's IAM policy lacks a permission (answered 500): ${describe(exception)}${requestId ? ` (request id ${requestId})` : ''}`,
        exception instanceof Error ? exception.stack : undefined,
      );
      return { statusCode: 500, error: reason(500), message: 'Internal server error' };
    }
    this.logger.error(describe(exception), exception instanceof Error ? exception.stack : undefined);
    return { statusCode: 500, error: reason(500), message: 'Internal server error' };
  }
}

/**
 * Messages for the body parsers' refusals by type (app.factory.ts) and for Fastify's own by code
 * (its texts quote the URL); any other gets a generic one.
 */
export const BODY_TOO_LARGE = 'Request body is larger than 64 KB';

const BODY_ERRORS: Record<string, string> = {
  'entity.too.large': BODY_TOO_LARGE,
  FST_ERR_CTP_BODY_TOO_LARGE: BODY_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Request bodies must be JSON (application/json) or a form',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Request body length does not match its Content-Length',
  FST_ERR_BAD_URL: 'Malformed URL',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is longer than 100 characters',
  'entity.parse.failed': 'Malformed JSON body',
  'parameters.too.many': 'Too many parameters in the request body',
  'entity.too.deep': 'JSON body nested too deeply',
  'encoding.unsupported': 'Compressed request bodies are not accepted',
  'json.charset.unsupported': 'JSON bodies must be UTF-8',
  'form.charset.unsupported': 'Form bodies must be UTF-8 or ISO-8859-1',
};

/**
 * The body parsers' refusals (errors with a `type` and `expose`) and Fastify's own 4xx errors (a
 * `code` FST_ERR_…): a client's mistake, so its 4xx status with a short message of ours (their own
 * messages can quote the body).
 */
function bodyParserError(exception: unknown): ApiError | undefined {
  const { type, statusCode, expose, code, name } = (exception ?? {}) as Record<string, unknown>;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return undefined;
  const key = typeof type === 'string' && expose === true ? type : name === 'FastifyError' && typeof code === 'string' ? code : undefined;
  if (key === undefined) return undefined;
  return {
    statusCode,
    error: reason(statusCode),
    message: BODY_ERRORS[key] ?? (key === code ? reason(statusCode) : 'Unreadable request body'),
  };
}

/**
 * The answer to an error Fastify's router reports before any route, filter or hook runs (a
 * malformed URL, a path parameter over the router's limit): our JSON shape, without its text (which
 * quotes the URL). Set as Fastify's `frameworkErrors` (app.factory.ts).
 */
export function routerErrorAnswer(error: unknown): ApiError {
  return bodyParserError(error) ?? { statusCode: 400, error: reason(400), message: 'Bad request' };
}

function reason(status: number): string {
  const name = HttpStatus[status];
  return name
    ? name
        .toLowerCase()
        .split('_')
        .map((w) => w[0].toUpperCase() + w.slice(1))
        .join(' ')
    : 'Error';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
