import { ApiProperty } from '@nestjs/swagger';

export class StreamTicketView {
  @ApiProperty({ description: 'Pass as GET /api/events?ticket=…; single use' }) ticket: string;
  @ApiProperty({ description: 'Seconds the ticket can be redeemed' }) expires_in: number;
}
