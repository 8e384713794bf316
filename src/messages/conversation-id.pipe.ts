import { Injectable, type PipeTransform } from '@nestjs/common';
import { invalidParameters } from '../common/api-validation.pipe.js';
import { UUID_PATTERN } from '../common/uuid.js';

/**
 * `:message_group_uuid` as a conversation id: a uuid in either case, answered in lower case (the
 * stored form); anything else is a 400 `message_group_uuid_invalid`. Nest's ParseUUIDPipe with the
 * API's error code; a pipe rather than a DTO because a list page runs it on every request and a
 * DTO costs a class-transformer and class-validator pass (README, "CPU per list page").
 */
@Injectable()
export class ConversationIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value === 'string' && UUID_PATTERN.test(value)) return value.toLowerCase();
    throw invalidParameters(['message_group_uuid_invalid']);
  }
}
