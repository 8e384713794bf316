import { BadRequestException, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IdempotencyService } from './idempotency.service.js';

/**
 * The request's `Idempotency-Key` header, or undefined without one: a malformed key (not 1-255
 * visible ASCII characters, or the header given twice) is a 400 `idempotency_key_invalid`.
 */
export const IdempotencyKey = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined => {
  const key = ctx.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
  if (key !== undefined && (typeof key !== 'string' || !IdempotencyService.isValidKey(key))) {
    throw new BadRequestException({
      error: 'Bad Request',
      message: 'Idempotency-Key must be 1-255 visible ASCII characters',
      errors: ['idempotency_key_invalid'],
    });
  }
  return key;
});
