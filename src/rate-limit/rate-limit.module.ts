import { Global, Module } from '@nestjs/common';
import { RateLimitInterceptor } from './rate-limit.interceptor.js';
import { RateLimiterService } from './rate-limiter.service.js';

/** Rate limits: routes opt in with @RateLimited(policy) (its own interceptor); services count with RateLimiterService. */
@Global()
@Module({
  providers: [RateLimiterService, RateLimitInterceptor],
  exports: [RateLimiterService, RateLimitInterceptor],
})
export class RateLimitModule {}
