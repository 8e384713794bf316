import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { from, switchMap, type Observable } from 'rxjs';
import type { User } from '../users/user.entity.js';
import type { RateLimitPolicy } from './rate-limit.policies.js';
import { RateLimiterService } from './rate-limiter.service.js';

/** Where @RateLimited puts a route's policy. */
export const RATE_LIMIT_POLICY = 'cruddur:rateLimitPolicy';

/**
 * Applies a route's @RateLimited policy before its pipes and handler run (after the guards, so an
 * authenticated route counts per user, whatever address the user comes from).
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiterService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const policy = this.reflector.getAllAndOverride<RateLimitPolicy | undefined>(RATE_LIMIT_POLICY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!policy) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: User }>();
    const key = request.user ? `user:${request.user.uuid}` : `ip:${request.ip ?? 'unknown'}`;
    return from(this.limiter.consume(policy, key)).pipe(switchMap(() => next.handle()));
  }
}
