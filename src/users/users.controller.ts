import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator.js';
import { RATE_LIMIT_POLICIES } from '../rate-limit/rate-limit.policies.js';
import { RateLimited } from '../rate-limit/rate-limited.decorator.js';
import { ShortProfileDto } from './dto/short-profile.dto.js';
import { UserHandleParam } from './dto/user-handle.param.js';
import { UsersService } from './users.service.js';
import { PATH_PARAMETER_TOO_LONG } from '../common/api-responses.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Public()
  @RateLimited(RATE_LIMIT_POLICIES.public)
  @Get('@:handle/short')
  @ApiOkResponse({ type: ShortProfileDto })
  @ApiBadRequestResponse({ description: 'Not a handle (`handle_invalid`)' })
  @ApiNotFoundResponse({ description: 'No user with that handle (compared ignoring case)' })
  @ApiResponse(PATH_PARAMETER_TOO_LONG)
  @ApiResponse({ status: 429, description: 'Over the per-address rate limit (`rate_limited`); see Retry-After' })
  async short(@Param() { handle }: UserHandleParam): Promise<ShortProfileDto> {
    const profile = await this.users.findShortByHandle(handle);
    if (!profile) throw new NotFoundException(`No user with handle @${handle}`);
    return profile;
  }
}
