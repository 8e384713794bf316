import { BadRequestException, Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { User } from '../users/user.entity.js';
import { CreateMessageDto } from './dto/create-message.dto.js';
import { CreatedMessageView, MessageGroupView, MessageView } from './dto/message.views.js';
import { PageQueryDto } from './dto/page-query.dto.js';
import { MessageGroupUuidParam } from './dto/message-group-uuid.param.js';
import { RATE_LIMIT_POLICIES } from '../rate-limit/rate-limit.policies.js';
import { RateLimited } from '../rate-limit/rate-limited.decorator.js';
import { IdempotencyService } from './idempotency.service.js';
import { MessagesService, type PageOf } from './messages.service.js';

const NEXT_CURSOR = 'X-Next-Cursor';
const nextCursorHeader = { [NEXT_CURSOR]: { description: 'Cursor of the next page; absent on the last page', schema: { type: 'string' } } };

@ApiTags('messages')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid or expired access token' })
@ApiResponse({ status: 403, description: 'Valid token, but no Cruddur user for it' })
@ApiResponse({ status: 503, description: 'DynamoDB or Postgres unavailable' })
@Controller()
export class MessagesController {
  constructor(@Inject(MessagesService) private readonly messages: MessagesService) {}

  @Get('message_groups')
  @ApiOkResponse({ type: [MessageGroupView], headers: nextCursorHeader, description: 'The caller\'s conversations, latest reply first' })
  @ApiResponse({ status: 400, description: 'Bad limit or cursor' })
  async listConversations(@CurrentUser() user: User, @Query() query: PageQueryDto, @Res({ passthrough: true }) res: Response) {
    return withNextCursor(res, await this.messages.listConversations(user, query));
  }

  @Get('messages/:message_group_uuid')
  @ApiOkResponse({ type: [MessageView], headers: nextCursorHeader, description: 'One page of messages (newest page first), oldest first within the page' })
  @ApiResponse({ status: 400, description: 'Bad limit, cursor or uuid' })
  @ApiNotFoundResponse({ description: 'No such conversation, or the caller is not a member' })
  async listMessages(@CurrentUser() user: User, @Param() params: MessageGroupUuidParam, @Query() query: PageQueryDto, @Res({ passthrough: true }) res: Response) {
    return withNextCursor(res, await this.messages.listMessages(user, params.message_group_uuid, query));
  }

  @Post('messages')
  @HttpCode(200)
  @RateLimited(RATE_LIMIT_POLICIES.messages)
  @ApiBody({ type: CreateMessageDto })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A retry with the same key returns the same message and stores nothing new' })
  @ApiOkResponse({ type: CreatedMessageView })
  @ApiResponse({ status: 400, description: 'Malformed JSON, a body that is not a JSON object (`body_invalid`), or a malformed Idempotency-Key' })
  @ApiNotFoundResponse({ description: 'Unknown handle, or a conversation the caller is not a member of' })
  @ApiResponse({ status: 409, description: 'A rare race (the Idempotency-Key expired while in use, or a microsecond hot spot): try again' })
  @ApiResponse({ status: 413, description: 'Body over 64 KB' })
  @ApiResponse({ status: 429, description: 'Over the rate limit of messages or of new conversations (`rate_limited`); see Retry-After' })
  @ApiUnprocessableEntityResponse({ description: 'Invalid fields: every code in `errors`; or an Idempotency-Key reused for another request (`idempotency_key_reused`)' })
  async send(@CurrentUser() user: User, @Body() body: unknown, @Headers('idempotency-key') idempotencyKey?: string): Promise<CreatedMessageView> {
    if (idempotencyKey !== undefined && !IdempotencyService.isValidKey(idempotencyKey)) {
      throw new BadRequestException({ error: 'Bad Request', message: 'Idempotency-Key must be 1-255 visible ASCII characters', errors: ['idempotency_key_invalid'] });
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadRequestException({ error: 'Bad Request', message: 'The body must be a JSON object', errors: ['body_invalid'] });
    }
    return this.messages.send(user, body, idempotencyKey);
  }
}

function withNextCursor<T>(res: Response, page: PageOf<T>): T[] {
  if (page.nextCursor) res.setHeader(NEXT_CURSOR, page.nextCursor);
  return page.items;
}
