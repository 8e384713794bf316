import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { RATE_LIMIT_POLICY, RateLimitInterceptor } from './rate-limit.interceptor.js';
import type { RateLimitPolicy } from './rate-limit.policies.js';

/**
 * Counts each call of the route under `policy`: per user on authenticated routes, per client address
 * on public ones. The interceptor is the route's own, not a global one: a route without a policy
 * runs no interceptor at all (Nest's interceptor chain cost every list page CPU; README, "CPU per list page").
 * On methods only: Nest adds a class's interceptors to its methods' without removing duplicates, so
 * on a class and one of its methods it would count each request twice.
 */
export const RateLimited = (policy: RateLimitPolicy) =>
  applyDecorators(SetMetadata(RATE_LIMIT_POLICY, policy), UseInterceptors(RateLimitInterceptor));
