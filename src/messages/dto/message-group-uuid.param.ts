import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { Matches } from 'class-validator';
import { UUID_PATTERN } from '../../common/uuid.js';

export class MessageGroupUuidParam {
  @ApiProperty({ format: 'uuid' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @Matches(UUID_PATTERN, { message: 'message_group_uuid_invalid' })
  message_group_uuid: string;
}
