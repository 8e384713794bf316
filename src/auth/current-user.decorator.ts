import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { User } from '../users/user.entity.js';

/** A request past the guard: its user, and when its access token expires (ms since the epoch). */
export type AuthenticatedRequest = FastifyRequest & { user: User; tokenExpiresAt?: number };

/** The Cruddur user behind the request's verified access token. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): User => {
  return ctx.switchToHttp().getRequest<AuthenticatedRequest>().user;
});
