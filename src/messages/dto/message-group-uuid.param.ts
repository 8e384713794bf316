import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

export class MessageGroupUuidParam {
  @ApiProperty({ format: 'uuid' })
  @Matches(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, { message: 'message_group_uuid_invalid' })
  message_group_uuid: string;
}
