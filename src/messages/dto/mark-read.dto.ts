import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, Validate, type ValidatorConstraintInterface, ValidatorConstraint } from 'class-validator';
import { isTimestamp } from '../../dynamodb/timestamp.js';

@ValidatorConstraint({ name: 'timestamp' })
class IsMessageTimestamp implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && value.length <= 64 && isTimestamp(value);
  }
}

/** `{ up_to }`: read up to that message (its `created_at`); without it, up to the newest message. */
export class MarkReadDto {
  static readonly describes = 'read marker';

  @ApiPropertyOptional({ example: '2023-03-28T21:02:11.141577+00:00', description: "A message's created_at; default: the newest message" })
  // null is no up_to, as in JSON clients that send every field (IsOptional lets null through as it is).
  @Transform(({ value }: { value: unknown }) => value ?? undefined)
  @IsOptional()
  @Validate(IsMessageTimestamp, { message: 'up_to_invalid' })
  up_to?: string;
}
