import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  // Plain decimal digits only: Number() would also take `0x10`, `1e1`, ` 5` and `+5`.
  @Transform(({ value }) => (typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN))
  @IsInt({ message: 'limit_invalid' })
  @Min(1, { message: 'limit_invalid' })
  @Max(MAX_PAGE_SIZE, { message: 'limit_invalid' })
  limit?: number;

  @ApiPropertyOptional({ description: 'The X-Next-Cursor header of the previous page' })
  @IsOptional()
  @IsString({ message: 'cursor_invalid' })
  @MaxLength(1024, { message: 'cursor_invalid' })
  cursor?: string;
}
