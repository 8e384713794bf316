import type { FastifyReply } from 'fastify';
import type { PageOf } from './messages.service.js';

const NEXT_CURSOR = 'X-Next-Cursor';

/** OpenAPI's description of the header that carries the next page's cursor. */
export const NEXT_CURSOR_HEADER = {
  [NEXT_CURSOR]: { description: 'Cursor of the next page; absent on the last page', schema: { type: 'string' } },
};

/** The page's items as the body, its cursor (if any) in the X-Next-Cursor header. */
export function withNextCursor<T>(reply: FastifyReply, page: PageOf<T>): T[] {
  if (page.nextCursor) void reply.header(NEXT_CURSOR, page.nextCursor);
  return page.items;
}
