import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication, NestExpressBodyParserOptionsFor } from '@nestjs/platform-express';
import type { LogLevel } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import { AppModule } from './app.module.js';
import { jsonNestingDepth } from './common/json-depth.js';
import { TIMEOUTS } from './common/timeouts.js';
import type { AppConfig } from './config/config.js';

export interface CreateAppOptions {
  logger?: LogLevel[] | false;
}

/** Bodies larger than this are refused with 413 (a message is at most 1024 characters). */
export const MAX_BODY = '64kb';
const MAX_BODY_BYTES = 64 * 1024;
/** A request body is one flat object; deeper nesting is refused before it is parsed. */
export const MAX_BODY_DEPTH = 16;

/** Headers a browser may send cross-origin, and response headers its scripts may read. */
const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key'];
const CORS_EXPOSED_HEADERS = ['X-Next-Cursor', 'Retry-After'];
/** How long a browser may cache a preflight answer (seconds). */
const CORS_MAX_AGE = 600;

/** Builds the HTTP application (not yet listening): used by main.ts, the local stack and the tests. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: options.logger ?? ['log', 'warn', 'error'],
    abortOnError: false,
    bodyParser: false,
  });
  if (config.corsOrigins.length) {
    app.enableCors({
      origin: config.corsOrigins,
      methods: ['GET', 'POST'],
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: CORS_MAX_AGE,
    });
  }
  app.use(refuseDeclaredOversizeBody, securityHeaders);
  // No compressed bodies (`inflate: false` answers 415): a message is small, and a bogus gzip stream
  // would otherwise surface zlib's own error text.
  // `verify` is free: Nest takes it only for `rawBody`, which this app does not use.
  app.useBodyParser('json', { limit: MAX_BODY, inflate: false, verify: refuseDeepJson } as NestExpressBodyParserOptionsFor<'json'>);
  app.useBodyParser('urlencoded', { limit: MAX_BODY, extended: false, inflate: false });
  app.disable('x-powered-by');
  // Every answer is `Cache-Control: no-store`: an ETag (a hash of each body) would never be used.
  app.set('etag', false);
  if (config.trustProxyHops > 0) app.set('trust proxy', config.trustProxyHops);
  app.setGlobalPrefix('api');
  fitServerTimeouts(app.getHttpServer());
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
      res.end(JSON.stringify({ statusCode: 413, error: 'Payload Too Large', message: 'Request body is larger than 64 KB' }));
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
}

/** A declared Content-Length over the limit is refused at once, and the connection closed, before the body is read. */
function refuseDeclaredOversizeBody(req: Request, res: Response, next: NextFunction): void {
  if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
    res.setHeader('Connection', 'close');
    return next(
      Object.assign(new Error('request entity too large'), { status: 413, statusCode: 413, expose: true, type: 'entity.too.large' }),
    );
  }
  next();
}

/** Private answers are never cached or sniffed as another content type. */
function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  next();
}

/** body-parser's `verify` for JSON: an error with `status` and `type` becomes its 4xx refusal. */
function refuseDeepJson(_req: unknown, _res: unknown, body: Buffer, encoding: string): void {
  // The depth is read from UTF-8 bytes; another charset (utf-7, utf-16) would hide the brackets.
  if (encoding.toLowerCase() !== 'utf-8') {
    throw Object.assign(new Error(`unsupported charset ${encoding}`), {
      status: 415,
      statusCode: 415,
      expose: true,
      type: 'charset.unsupported',
    });
  }
  if (jsonNestingDepth(body) > MAX_BODY_DEPTH) {
    throw Object.assign(new Error('JSON nested too deeply'), { status: 400, statusCode: 400, expose: true, type: 'entity.too.deep' });
  }
}

function setUpOpenApi(app: NestExpressApplication): void {
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
