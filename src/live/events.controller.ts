import {
  BadRequestException,
  Controller,
  HttpCode,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  Sse,
  SseSignal,
  UseGuards,
} from '@nestjs/common';
import type { MessageEvent } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/current-user.decorator.js';
import { Public } from '../auth/public.decorator.js';
import { EventsAuthGuard, type StreamRequest } from './events-auth.guard.js';
import { positionOfEventId } from './live-event.js';
import { nowMicros } from '../dynamodb/timestamp.js';
import { LiveStreamsService } from './live-streams.service.js';
import { StreamTicketView } from './live.views.js';
import { StreamTicketStore, TICKET_TTL_SECONDS } from './stream-tickets.js';

/** Most characters of events Nest itself lets wait for a client (the stream's own bound comes first). */
const MAX_PENDING_CHARACTERS = 4 * 1024 * 1024;

/** GET /api/events: the caller's live events (Server-Sent Events); POST /api/events/ticket for EventSource. */
@ApiTags('live')
@ApiResponse({ status: 503, description: 'Live events or a backing service unavailable (Retry-After)' })
@Controller('events')
export class EventsController {
  constructor(
    private readonly streams: LiveStreamsService,
    private readonly tickets: StreamTicketStore,
  ) {}

  @Public()
  @UseGuards(EventsAuthGuard)
  @Sse(undefined, { maxPendingDataLength: MAX_PENDING_CHARACTERS })
  @ApiBearerAuth()
  @ApiOperation({
    summary: "The caller's live events (text/event-stream)",
    description: [
      "Events: `message` (a message in one of the caller's conversations: the message view plus message_group_uuid), ",
      "`message_group` (the caller's list item moved: the list view item), `read` (a read marker moved), ",
      '`resync` (too much missed, or the client did not keep up: reload lists, then reconnect without Last-Event-ID). ',
      'A comment heartbeat comes every 15 s; the first event carries `retry:`. Ids order events and are opaque. ',
      'Reconnecting with Last-Event-ID (header, or ?last_event_id=) replays what was missed from DynamoDB. ',
      "Authenticate with Authorization: Bearer, or ?ticket= from POST /api/events/ticket. The stream ends at the token's expiry.",
    ].join(''),
  })
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'ticket', required: false, description: 'A ticket from POST /api/events/ticket (for EventSource)' })
  @ApiQuery({ name: 'last_event_id', required: false, description: 'Resume after this event id (as the Last-Event-ID header)' })
  @ApiOkResponse({
    description: 'text/event-stream of `message`, `message_group`, `read` and `resync` events',
    content: {
      'text/event-stream': {
        schema: { type: 'string' },
        example: [
          ': live',
          'id: hoo8vqyk5h',
          'retry: 3000',
          '',
          'event: message',
          'id: hoo8vr0a1c',
          'data: {"message_group_uuid":"6b335565-…","uuid":"3777eda7-…","display_name":"Andrew Brown","handle":"andrewbrown","message":"Hi!","created_at":"2026-11-25T13:48:53.888722+00:00"}',
          '',
          ':',
          '',
        ].join('\n'),
      },
    },
  })
  @ApiResponse({
    status: 400,
    description: 'Last-Event-ID not an id of this API, or over 5 minutes ahead of its clock (`last_event_id_invalid`)',
  })
  @ApiUnauthorizedResponse({ description: 'Missing or bad token, or a bad, expired or used ticket (`ticket_invalid`)' })
  @ApiResponse({ status: 429, description: 'Too many open streams for the user or the server (`too_many_streams`)' })
  events(
    @Req() request: StreamRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @SseSignal() signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    const position = lastEventPosition(request.headers['last-event-id'], request.query.last_event_id);
    return this.streams.open(request.streamCaller!, position, reply.raw, signal);
  }

  @Post('ticket')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOkResponse({ type: StreamTicketView, description: `A single-use ticket for GET /api/events?ticket=, valid ${TICKET_TTL_SECONDS} s` })
  @ApiUnauthorizedResponse({ description: 'Missing, invalid or expired access token' })
  async ticket(@Req() request: AuthenticatedRequest): Promise<StreamTicketView> {
    let ticket: string;
    try {
      ticket = await this.tickets.issue({ user_uuid: request.user.uuid, expiresAt: request.tokenExpiresAt! });
    } catch {
      throw new ServiceUnavailableException('Tickets cannot be issued now; try again shortly');
    }
    return { ticket, expires_in: TICKET_TTL_SECONDS };
  }
}

/** How far ahead of this task's clock an id may be: another task's clock, a message stamped by a writer ahead of it. */
const FUTURE_ALLOWANCE_MICROS = 5 * 60 * 1_000_000;

/** The position to resume from: Last-Event-ID (the header wins), undefined for a fresh stream; 400 for anything not ours. */
function lastEventPosition(header: unknown, query: unknown): number | undefined {
  const value = header ?? query;
  if (value === undefined || value === '') return undefined;
  const position = typeof value === 'string' ? positionOfEventId(value) : undefined;
  // A position ahead of now (a stored id of another environment, a skewed client) would replay nothing, now and at every later resume.
  if (position === undefined || position > nowMicros() + FUTURE_ALLOWANCE_MICROS) {
    throw new BadRequestException({
      error: 'Bad Request',
      message: 'Last-Event-ID is not an event id of this API',
      errors: ['last_event_id_invalid'],
    });
  }
  return position;
}
