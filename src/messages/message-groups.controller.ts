import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { User } from '../users/user.entity.js';
import { MessageGroupView } from './dto/message.views.js';
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
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageGroupView[]> {
    return withNextCursor(res, await this.messages.listConversations(user, query));
  }
}
