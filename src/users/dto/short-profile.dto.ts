import { ApiProperty } from '@nestjs/swagger';

export class ShortProfileDto {
  @ApiProperty({ format: 'uuid' })
  uuid: string;

  @ApiProperty({ example: 'andrewbrown' })
  handle: string;

  @ApiProperty({ example: 'Andrew Brown' })
  display_name: string;
}
