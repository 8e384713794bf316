import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
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
import { MarkReadDto } from './dto/mark-read.dto.js';
import { ConversationIdPipe } from './conversation-id.pipe.js';
import { MessageGroupView, ReadMarkView } from './dto/message.views.js';
import { PageQueryDto } from './dto/page-query.dto.js';
import { MessagesService } from './messages.service.js';
import { NEXT_CURSOR_HEADER, withNextCursor } from './next-cursor.js';

/** GET /api/message_groups: the caller's conversations (Cruddur calls them message groups). */
@ApiTags('messages')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing, invalid or expired access token' })
@ApiResponse({ status: 403, description: 'Valid token, but no Cruddur user for it' })
@ApiResponse({ status: 503, description: 'DynamoDB or Postgres unavailable' })
@Controller('message_groups')
export class MessageGroupsController {
  constructor(private readonly messages: MessagesService) {}

  @Get()
  @ApiOkResponse({ type: [MessageGroupView], headers: NEXT_CURSOR_HEADER, description: "The caller's conversations, latest reply first" })
  @ApiResponse({ status: 400, description: 'Bad limit or cursor' })
  async list(
    @CurrentUser() user: User,
    @Query() query: PageQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MessageGroupView[]> {
    return withNextCursor(reply, await this.messages.listConversations(user, query));
  }

  @Post(':message_group_uuid/read')
  @ApiParam({ name: 'message_group_uuid', format: 'uuid' })
  @HttpCode(200)
  @ApiBody({ type: MarkReadDto, required: false })
  @ApiOkResponse({
    type: ReadMarkView,
    description: 'The caller read up to up_to (default: the newest message); the marker only moves forward',
  })
  @ApiResponse({ status: 400, description: 'Bad uuid, or a body that is not a JSON object' })
  @ApiResponse(BODY_TOO_LARGE_RESPONSE)
  @ApiResponse(PATH_PARAMETER_TOO_LONG)
  @ApiResponse(UNSUPPORTED_BODY)
  @ApiNotFoundResponse({ description: 'No such conversation, or the caller is not a member' })
  @ApiUnprocessableEntityResponse({ description: 'up_to is not a timestamp (`up_to_invalid`)' })
  markRead(
    @CurrentUser() user: User,
    @Param('message_group_uuid', ConversationIdPipe) conversationId: string,
    @Body() body: MarkReadDto,
  ): Promise<ReadMarkView> {
    return this.messages.markRead(user, conversationId, body.up_to);
  }
}
