import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator.js';
import { ShortProfileDto } from './dto/short-profile.dto.js';
import { UserHandleParam } from './dto/user-handle.param.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(@Inject(UsersService) private readonly users: UsersService) {}

  @Public()
  @Get('@:handle/short')
  @ApiOkResponse({ type: ShortProfileDto })
  @ApiBadRequestResponse({ description: 'Not a handle (`handle_invalid`)' })
  @ApiNotFoundResponse({ description: 'No user with that handle (compared ignoring case)' })
  async short(@Param() { handle }: UserHandleParam): Promise<ShortProfileDto> {
    const profile = await this.users.findShortByHandle(handle);
    if (!profile) throw new NotFoundException(`No user with handle @${handle}`);
    return profile;
  }
}
