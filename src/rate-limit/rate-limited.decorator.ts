import { SetMetadata } from '@nestjs/common';
import type { RateLimitPolicy } from './rate-limit.policies.js';

export const RATE_LIMIT_POLICY = 'cruddur:rateLimitPolicy';

/** Counts each call of the route under `policy`: per user on authenticated routes, per client address on public ones. */
export const RateLimited = (policy: RateLimitPolicy) => SetMetadata(RATE_LIMIT_POLICY, policy);
