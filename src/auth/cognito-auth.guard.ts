import {
  ForbiddenException,
  Inject,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import type { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { ACCESS_TOKEN_VERIFIER, SigningKeysUnavailableError, type AccessTokenVerifier } from './access-token.verifier.js';
import type { AuthenticatedRequest } from './current-user.decorator.js';
import { IS_PUBLIC } from './public.decorator.js';

/** Auth schemes are case-insensitive (RFC 9110 §11.1): `bearer` is `Bearer`. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

/**
 * The global guard: every route needs `Authorization: Bearer <Cognito access token>` unless marked
 * `@Public()`. The token's `sub` is mapped to the Postgres user; found users are cached for
 * USER_CACHE_SECONDS (60 by default; 0 = not cached) so that a steady stream of requests costs no
 * database round trip. That is how long a task may still see a user removed or renamed in Postgres.
 */
@Injectable()
export class CognitoAuthGuard implements CanActivate {
  /** Undefined when USER_CACHE_SECONDS is 0 (lru-cache reads a ttl of 0 as "never expires"). */
  private readonly usersBySub?: LRUCache<string, User>;

  constructor(
    private readonly reflector: Reflector,
    @Inject(ACCESS_TOKEN_VERIFIER) private readonly verifier: AccessTokenVerifier,
    private readonly users: UsersService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    if (config.userCacheSeconds > 0) this.usersBySub = new LRUCache<string, User>({ max: 10_000, ttl: config.userCacheSeconds * 1000 });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    await this.authenticate(context.switchToHttp().getRequest<AuthenticatedRequest>());
    return true;
  }

  /** Verifies the request's bearer token and sets `request.user` and `request.tokenExpiresAt`; throws 401/403/503. */
  async authenticate(request: AuthenticatedRequest): Promise<void> {
    const header = request.headers.authorization;
    if (!header) throw new UnauthorizedException('Missing Authorization: Bearer <access token>');
    const token = BEARER.exec(header.trim())?.[1];
    if (!token) throw new UnauthorizedException('Authorization must be "Bearer <access token>"');
    let sub: string;
    let exp: number;
    try {
      ({ sub, exp } = await this.verifier.verify(token));
    } catch (error) {
      // Only a bad token is a 401 (clients sign their users out on it); unreachable keys are our outage.
      if (error instanceof SigningKeysUnavailableError)
        throw new ServiceUnavailableException('The identity provider cannot be reached; try again shortly');
      throw new UnauthorizedException('Invalid or expired access token');
    }
    request.user = await this.userFor(sub);
    request.tokenExpiresAt = exp * 1000;
  }

  private async userFor(sub: string): Promise<User> {
    const cached = this.usersBySub?.get(sub);
    if (cached) return cached;
    const user = await this.users.findByCognitoSub(sub);
    // Neutral: naming the operator script that links accounts told an attacker what to wait for.
    if (!user) throw new ForbiddenException('This account has no Cruddur profile');
    this.usersBySub?.set(sub, user);
    return user;
  }
}
