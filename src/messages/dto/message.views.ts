import { ApiProperty } from '@nestjs/swagger';

/** A conversation in the caller's list; the user fields describe the other member. */
export class MessageGroupView {
  @ApiProperty({ format: 'uuid', description: 'message_group_uuid' })
  uuid: string;
  @ApiProperty() display_name: string;
  @ApiProperty() handle: string;
  @ApiProperty({ description: 'The latest message' }) message: string;
  @ApiProperty({ example: '2023-03-28T21:02:11.141577+00:00', description: 'The latest reply' }) created_at: string;
}

/** A message of a conversation; the user fields describe its sender. */
export class MessageView {
  @ApiProperty({ format: 'uuid', description: 'message_uuid' })
  uuid: string;
  @ApiProperty() display_name: string;
  @ApiProperty() handle: string;
  @ApiProperty() message: string;
  @ApiProperty({ example: '2023-03-28T21:02:11.141577+00:00' }) created_at: string;
}

export class CreatedMessageView extends MessageView {
  @ApiProperty({ format: 'uuid' })
  message_group_uuid: string;
}
