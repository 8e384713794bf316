import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { BODY_TOO_LARGE_RESPONSE, PATH_PARAMETER_TOO_LONG, UNSUPPORTED_BODY } from '../common/api-responses.js';
import type { User } from '../users/user.entity.js';
import { CreateMessageDto } from './dto/create-message.dto.js';
import { CreatedMessageView, MessageView } from './dto/message.views.js';
import { IdempotencyKey } from './idempotency-key.decorator.js';
import { PageQueryDto } from './dto/page-query.dto.js';
import { ConversationIdPipe } from './conversation-id.pipe.js';
import { RATE_LIMIT_POLICIES } from '../rate-limit/rate-limit.policies.js';
import { RateLimited } from '../rate-limit/rate-limited.decorator.js';
import { MessagesService } from './messages.service.js';
import { NEXT_CURSOR_HEADER, withNextCursor } from './next-cursor.js';

@ApiTags('messages')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid or expired access token' })
@ApiResponse({ status: 403, description: 'Valid token, but no Cruddur user for it' })
@ApiResponse({ status: 503, description: 'DynamoDB or Postgres unavailable' })
@Controller('messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get(':message_group_uuid')
  @ApiParam({ name: 'message_group_uuid', format: 'uuid' })
  @ApiOkResponse({
    type: [MessageView],
    headers: NEXT_CURSOR_HEADER,
    description: 'One page of messages (newest page first), oldest first within the page',
  })
  @ApiResponse({ status: 400, description: 'Bad limit, cursor or uuid' })
  @ApiNotFoundResponse({ description: 'No such conversation, or the caller is not a member' })
  @ApiResponse(PATH_PARAMETER_TOO_LONG)
  async list(
    @CurrentUser() user: User,
    @Param('message_group_uuid', ConversationIdPipe) conversationId: string,
    @Query() query: PageQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MessageView[]> {
    return withNextCursor(reply, await this.messages.listMessages(user, conversationId, query));
  }

  @Post()
  @HttpCode(200)
  @RateLimited(RATE_LIMIT_POLICIES.messages)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'A retry with the same key returns the same message and stores nothing new',
  })
  @ApiBody({ type: CreateMessageDto })
  @ApiOkResponse({ type: CreatedMessageView })
  @ApiResponse({
    status: 400,
    description: 'Malformed JSON, a body that is not a JSON object (`body_invalid`), or a malformed Idempotency-Key',
  })
  @ApiNotFoundResponse({ description: 'Unknown handle, or a conversation the caller is not a member of' })
  @ApiResponse({
    status: 409,
    description: 'A rare race (retries with one Idempotency-Key taking it from each other, or a microsecond hot spot): try again',
  })
  @ApiResponse(BODY_TOO_LARGE_RESPONSE)
  @ApiResponse(UNSUPPORTED_BODY)
  @ApiResponse({ status: 429, description: 'Over the rate limit of messages or of new conversations (`rate_limited`); see Retry-After' })
  @ApiUnprocessableEntityResponse({
    description: 'Invalid fields: every code in `errors`; or an Idempotency-Key reused for another request (`idempotency_key_reused`)',
  })
  send(
    @CurrentUser() user: User,
    @Body() message: CreateMessageDto,
    @IdempotencyKey() idempotencyKey?: string,
  ): Promise<CreatedMessageView> {
    return this.messages.send(user, message, idempotencyKey);
  }
}
