import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { RateLimitInterceptor } from './rate-limit.interceptor.js';
import { RateLimiterService } from './rate-limiter.service.js';

/** Rate limits: routes opt in with @RateLimited(policy); services count with RateLimiterService. */
@Global()
@Module({
  providers: [RateLimiterService, { provide: APP_INTERCEPTOR, useClass: RateLimitInterceptor }],
  exports: [RateLimiterService],
})
export class RateLimitModule {}
