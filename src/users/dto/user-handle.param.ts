import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { HANDLE_PATTERN } from '../../common/handle.js';

/** `:handle` of `/users/@:handle/…`: checked before any lookup (Postgres refuses a NUL with an error, not a miss). */
export class UserHandleParam {
  @ApiProperty({ pattern: HANDLE_PATTERN.source, example: 'andrewbrown' })
  @Matches(HANDLE_PATTERN, { message: 'handle_invalid' })
  handle: string;
}
