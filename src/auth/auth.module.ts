import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { UsersModule } from '../users/users.module.js';
import { ACCESS_TOKEN_VERIFIER, createAccessTokenVerifier } from './access-token.verifier.js';
import { CognitoAuthGuard } from './cognito-auth.guard.js';

@Module({
  imports: [UsersModule],
  providers: [
    { provide: ACCESS_TOKEN_VERIFIER, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createAccessTokenVerifier(config) },
    CognitoAuthGuard,
    { provide: APP_GUARD, useExisting: CognitoAuthGuard },
  ],
  exports: [CognitoAuthGuard],
})
export class AuthModule {}
