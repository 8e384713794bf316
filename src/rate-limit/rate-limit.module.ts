import { Global, Module } from '@nestjs/common';
import { RateLimiterService } from './rate-limiter.service.js';

/** Rate limits: routes opt in with @RateLimited(policy) (its own interceptor); services count with RateLimiterService. */
@Global()
@Module({
  providers: [RateLimiterService],
  exports: [RateLimiterService],
})
export class RateLimitModule {}
