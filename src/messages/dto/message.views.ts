import { ApiProperty } from '@nestjs/swagger';

/** A conversation in the caller's list; the user fields describe the other member. */
export class MessageGroupView {
  @ApiProperty({ format: 'uuid', description: 'message_group_uuid' })
  uuid: string;
  @ApiProperty() display_name: string;
  @ApiProperty() handle: string;
  @ApiProperty({ description: 'The latest message' }) message: string;
  @ApiProperty({ example: '2023-03-28T21:02:11.141577+00:00', description: 'The latest reply' }) created_at: string;
  @ApiProperty({ description: "The other member's messages after the caller's read marker: exact up to 99, then 99" })
  unread_count: number;
  @ApiProperty({ description: 'True when more than 99 are unread' }) unread_more: boolean;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The other member's read marker (a message's created_at): they have seen up to there",
  })
  other_last_read_at: string | null;
}

/** The caller's read marker in a conversation after POST …/read. */
export class ReadMarkView {
  @ApiProperty({ format: 'uuid' }) message_group_uuid: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The newest message the caller has read (null: the conversation has no message)',
  })
  last_read_at: string | null;
  @ApiProperty() unread_count: number;
  @ApiProperty() unread_more: boolean;
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
