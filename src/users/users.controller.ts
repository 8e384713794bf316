import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator.js';
import { RATE_LIMIT_POLICIES } from '../rate-limit/rate-limit.policies.js';
import { RateLimited } from '../rate-limit/rate-limited.decorator.js';
import { ShortProfileDto } from './dto/short-profile.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(@Inject(UsersService) private readonly users: UsersService) {}

  @Public()
  @RateLimited(RATE_LIMIT_POLICIES.public)
  @Get('@:handle/short')
  @ApiOkResponse({ type: ShortProfileDto })
  @ApiNotFoundResponse({ description: 'No user with that handle' })
  @ApiResponse({ status: 429, description: 'Over the per-address rate limit (`rate_limited`); see Retry-After' })
  async short(@Param('handle') handle: string): Promise<ShortProfileDto> {
    const profile = await this.users.findShortByHandle(handle);
    if (!profile) throw new NotFoundException(`No user with handle @${handle}`);
    return profile;
  }
}
