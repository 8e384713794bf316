import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LogLevel } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { parse as parseForm } from 'node:querystring';
import { AppModule } from './app.module.js';
import { BODY_TOO_LARGE, routerErrorAnswer } from './common/api-exception.filter.js';
import { jsonNestingDepth } from './common/json-depth.js';
import { TIMEOUTS } from './common/timeouts.js';
import type { AppConfig } from './config/config.js';

export interface CreateAppOptions {
  logger?: LogLevel[] | false;
}

/** Bodies larger than this are refused with 413 (a message is at most 1024 characters). */
const MAX_BODY_BYTES = 64 * 1024;
/** A request body is one flat object; deeper nesting is refused before it is parsed. */
export const MAX_BODY_DEPTH = 16;
/** A form body with more fields than this is refused with 413. */
const MAX_FORM_FIELDS = 1000;

/** Headers a browser may send cross-origin, and response headers its scripts may read. */
const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key'];
const CORS_EXPOSED_HEADERS = ['X-Next-Cursor', 'Retry-After'];
/** How long a browser may cache a preflight answer (seconds). */
const CORS_MAX_AGE = 600;

/**
 * Builds the HTTP application (not yet listening): used by main.ts, the local stack and the tests.
 * Nest runs on Fastify (README, "CPU per list page": a list page costs a fifth less CPU than on Express).
 * Its routes exist once the app is initialised: `await app.init()` before serving (`listen()` does it).
 */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: MAX_BODY_BYTES,
    // How many proxies in front to trust for the client's address (X-Forwarded-For): hop 0 is the nearest.
    trustProxy: (_address, hop) => hop < config.trustProxyHops,
    // Routes as on Express: `/api/message_groups/` and `/API/message_groups` are the route (parameters keep their case).
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false },
    // While closing, requests on open connections are still served (Fastify would answer a bare 503).
    return503OnClosing: false,
    // The router's own refusals (a malformed URL, a path parameter over 100 characters) come before
    // any hook or filter: answered here in the API's error shape.
    frameworkErrors: (error: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const answer = routerErrorAnswer(error);
      void setSecurityHeaders(reply).status(answer.statusCode).send(answer);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: options.logger ?? ['log', 'warn', 'error'],
    abortOnError: false,
    bodyParser: false,
  });
  if (config.corsOrigins.length) {
    app.enableCors({
      origin: config.corsOrigins,
      methods: 'GET,POST',
      allowedHeaders: CORS_ALLOWED_HEADERS.join(','),
      exposedHeaders: CORS_EXPOSED_HEADERS.join(','),
      maxAge: CORS_MAX_AGE,
      // An OPTIONS request that is no preflight gets the CORS answer, not @fastify/cors's text/plain 400.
      strictPreflight: false,
    });
  }
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', onRequest);
  // Only JSON and form bodies are read (on POST; GET bodies are not); any other content type is a 415 (Fastify's own refusal).
  fastify.removeAllContentTypeParsers();
  // A parser's throw is its refusal (Nest passes it on); what it returns is the body.
  app.useBodyParser('application/json', { bodyLimit: MAX_BODY_BYTES }, (req, body, done) => done(null, parseJsonBody(req, body)));
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit: MAX_BODY_BYTES }, (req, body, done) =>
    done(null, parseFormBody(req, body)),
  );
  app.setGlobalPrefix('api');
  fitServerTimeouts(app.getHttpServer()); // after Fastify set its own defaults on the server
  app.enableShutdownHooks();
  setUpOpenApi(app);
  return app;
}

/** Node's server timeouts, fitted to the load balancer in front (TIMEOUTS.http). */
export function fitServerTimeouts(server: Server): void {
  server.keepAliveTimeout = TIMEOUTS.http.keepAliveMs;
  server.headersTimeout = TIMEOUTS.http.headersMs;
  server.requestTimeout = TIMEOUTS.http.requestMs;
  // A client that announces an oversized body with `Expect: 100-continue` is refused before it sends it.
  server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
      res.writeHead(413, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
      res.end(JSON.stringify({ statusCode: 413, error: 'Payload Too Large', message: BODY_TOO_LARGE }));
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
}

/**
 * A refusal of a request body, as the exception filter maps it (`type` picks the message; the
 * shape is http-errors', which Nest's Fastify adapter hands over as the cause of an HttpException).
 */
function bodyRefusal(status: number, type: string, message: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: true, type });
}

/**
 * Every request, first: the security headers, then a declared Content-Length over the limit is
 * refused at once, and the connection closed, before the body is read.
 */
function onRequest(req: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  setSecurityHeaders(reply);
  if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
    reply.header('Connection', 'close');
    return done(bodyRefusal(413, 'entity.too.large', 'request entity too large'));
  }
  done();
}

/** Private answers are never cached or sniffed as another content type. */
function setSecurityHeaders(reply: FastifyReply): FastifyReply {
  return reply.header('X-Content-Type-Options', 'nosniff').header('Cache-Control', 'no-store');
}

/** What the body parsers read of a request. */
type BodyRequest = { headers: IncomingHttpHeaders };

/** Compressed bodies are refused (415): a message is small, and a bogus stream would surface zlib's own error text. */
function refuseEncoded(req: BodyRequest): void {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw bodyRefusal(415, 'encoding.unsupported', `unsupported content encoding ${encoding}`);
  }
}

/** The charset a Content-Type names, lower-cased; `utf-8` when it names none. */
function charsetOf(req: BodyRequest): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.headers['content-type'] ?? '');
  return match ? match[1].toLowerCase() : 'utf-8';
}

function unsupportedCharset(type: 'json' | 'form', charset: string): Error {
  return bodyRefusal(415, `${type}.charset.unsupported`, `unsupported charset ${charset}`);
}

/**
 * JSON bodies: UTF-8, not compressed, an object or an array at the top (an empty body is `{}`),
 * nested at most MAX_BODY_DEPTH deep (checked on the bytes, before JSON.parse recurses).
 */
function parseJsonBody(req: BodyRequest, body: Buffer): unknown {
  refuseEncoded(req);
  const charset = charsetOf(req);
  // The depth is read from UTF-8 bytes; another charset (utf-7, utf-16) would hide the brackets.
  if (charset !== 'utf-8') throw unsupportedCharset('json', charset);
  // A byte-order mark (some .NET and PowerShell writers send one) is not part of the JSON.
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  if (text.length === 0) return {};
  const depth = jsonNestingDepth(body);
  // Depth 0: no object or array at all (a bare string, number or literal, white space, or no JSON).
  if (depth === 0) throw bodyRefusal(400, 'entity.parse.failed', 'JSON body must be an object or an array');
  if (depth > MAX_BODY_DEPTH) throw bodyRefusal(400, 'entity.too.deep', 'JSON nested too deeply');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bodyRefusal(400, 'entity.parse.failed', 'malformed JSON');
  }
}

/**
 * Form bodies (`message=…&handle=…`): UTF-8 or ISO-8859-1, not compressed, at most MAX_FORM_FIELDS
 * fields; values are strings. Percent escapes are read as UTF-8 in either charset (Express read an
 * ISO-8859-1 form's `%E9` as `é`; this reads it as U+FFFD): raw ISO-8859-1 bytes are read as such.
 */
function parseFormBody(req: BodyRequest, body: Buffer): unknown {
  refuseEncoded(req);
  const charset = charsetOf(req);
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') throw unsupportedCharset('form', charset);
  const text = body.toString(charset === 'utf-8' ? 'utf8' : 'latin1');
  if (text.split('&').length > MAX_FORM_FIELDS) throw bodyRefusal(413, 'parameters.too.many', 'too many parameters');
  return { ...parseForm(text, '&', '=', { maxKeys: 0 }) };
}

function setUpOpenApi(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Cruddur messaging')
      .setDescription('Direct messages between Cruddur users. Authenticate with a Cognito access token.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Cognito access token' })
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json', yamlDocumentUrl: 'api/docs/openapi.yaml' });
}

/**
 * Initialises the app without listening, for code that drives its HTTP server itself (supertest in
 * the tests): Nest registers its routes (`init()`), then Fastify loads its plugins and routes
 * (`ready()`); `listen()` does both.
 */
export async function initApp(app: NestFastifyApplication): Promise<void> {
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
}
