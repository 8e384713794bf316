import { BadRequestException } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isTimestamp } from '../dynamodb/timestamp.js';

/**
 * The opaque paging cursor of a list: the `sk` to continue before (as stored, in any form
 * `parseTimestamp` reads: the original tools' local offsets too), bound to the list it came from
 * (`scope`, e.g. `messages:{group}` or `groups:{owner}`) and signed with an HMAC, so a changed or
 * transplanted cursor is rejected (400) instead of reaching DynamoDB.
 */
export class ConversationCursor {
  constructor(private readonly secret: string) {}

  encode(scope: string, before: string): string {
    const payload = Buffer.from(JSON.stringify({ s: scope, b: before })).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  decode(scope: string, cursor: string): string {
    const [payload, signature, extra] = cursor.split('.');
    if (!payload || !signature || extra !== undefined || !this.verify(payload, signature)) throw invalid();
    let data: unknown;
    try {
      data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    const { s, b } = (data ?? {}) as { s?: unknown; b?: unknown };
    if (s !== scope || typeof b !== 'string' || !isTimestamp(b)) throw invalid();
    return b;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }

  private verify(payload: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

function invalid(): BadRequestException {
  return new BadRequestException({ error: 'Bad Request', message: 'Invalid cursor', errors: ['cursor_invalid'] });
}
