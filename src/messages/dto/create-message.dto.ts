import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { registerDecorator, type ValidationArguments } from 'class-validator';
import { HANDLE_PATTERN } from '../../common/handle.js';
import { UUID_PATTERN } from '../../common/uuid.js';

export const MAX_MESSAGE_CHARS = 1024;

/**
 * One rule per field, reporting one code: the first that applies. Returns undefined when valid.
 */
type Rule = (value: unknown, dto: Record<string, unknown>) => string | undefined;

function Checked(rule: Rule): PropertyDecorator {
  return (target, propertyName) => {
    let code: string | undefined;
    registerDecorator({
      name: `checked_${String(propertyName)}`,
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown, args: ValidationArguments) => (code = rule(value, args.object as Record<string, unknown>)) === undefined,
        defaultMessage: () => code ?? 'invalid',
      },
    });
  };
}

const isAbsent = (v: unknown) => v === undefined || v === null || v === '';

/** NUL, or half of a surrogate pair: text that Postgres (the Idempotency-Key's stored response) or DynamoDB refuses. */
// eslint-disable-next-line no-control-regex -- NUL is the character this rule is about
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text that shows nothing: white space, invisible format characters (zero-width spaces, direction
 * overrides, Hangul fillers: Unicode's default-ignorable code points), combining marks with nothing
 * to combine with, control characters and the braille blank.
 */
const BLANK_LOOKING = /^[\s\p{Default_Ignorable_Code_Point}\p{M}\p{Cc}\u2800]*$/u;

const messageRule: Rule = (value) => {
  if (value === undefined || value === null) return 'message_blank';
  if (typeof value !== 'string' || UNSTORABLE.test(value)) return 'message_invalid';
  if (BLANK_LOOKING.test(value)) return 'message_blank';
  if ([...value].length > MAX_MESSAGE_CHARS) return 'message_exceed_max_chars';
  return undefined;
};

const handleRule: Rule = (value, dto) => {
  if (isAbsent(value)) return isAbsent(dto.message_group_uuid) ? 'recipient_blank' : undefined;
  if (typeof value !== 'string' || !HANDLE_PATTERN.test(value)) return 'handle_invalid';
  if (!isAbsent(dto.message_group_uuid)) return 'recipient_ambiguous';
  return undefined;
};

const groupRule: Rule = (value) => {
  if (isAbsent(value)) return undefined;
  return typeof value === 'string' && UUID_PATTERN.test(value) ? undefined : 'message_group_uuid_invalid';
};

/** `{message, handle}` starts or continues a conversation with a user; `{message, message_group_uuid}` replies in one. */
export class CreateMessageDto {
  static readonly describes = 'message';

  @ApiProperty({ minLength: 1, maxLength: MAX_MESSAGE_CHARS, example: 'Hello!' })
  @Checked(messageRule)
  message: string;

  @ApiPropertyOptional({ description: 'The recipient (pattern C). Exactly one of handle and message_group_uuid.', example: 'bayko' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && value.length > 1 ? value.replace(/^@/, '') : value))
  @Checked(handleRule)
  handle?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'An existing conversation of the caller (pattern D).' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @Checked(groupRule)
  message_group_uuid?: string;
}
