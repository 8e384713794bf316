import { Injectable, ServiceUnavailableException, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CognitoAuthGuard } from '../auth/cognito-auth.guard.js';
import type { AuthenticatedRequest } from '../auth/current-user.decorator.js';
import { isTicketShaped, StreamTicketStore, type StreamCaller } from './stream-tickets.js';

export type StreamRequest = FastifyRequest<{ Querystring: { ticket?: unknown; last_event_id?: unknown } }> & {
  streamCaller?: StreamCaller;
};

/**
 * GET /api/events takes `Authorization: Bearer <access token>` (checked as on every route), or,
 * for browsers' EventSource, which cannot send headers, `?ticket=` from POST /api/events/ticket.
 */
@Injectable()
export class EventsAuthGuard implements CanActivate {
  constructor(
    private readonly bearer: CognitoAuthGuard,
    private readonly tickets: StreamTicketStore,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<StreamRequest & AuthenticatedRequest>();
    const ticket = request.query.ticket;
    if (request.headers.authorization !== undefined || ticket === undefined) {
      await this.bearer.authenticate(request);
      request.streamCaller = { user_uuid: request.user.uuid, expiresAt: request.tokenExpiresAt! };
      return true;
    }
    request.streamCaller = await this.redeem(ticket);
    return true;
  }

  private async redeem(ticket: unknown): Promise<StreamCaller> {
    const invalid = new UnauthorizedException({
      error: 'Unauthorized',
      message: 'Invalid, expired or used ticket; get a new one from POST /api/events/ticket',
      errors: ['ticket_invalid'],
    });
    if (typeof ticket !== 'string' || !isTicketShaped(ticket)) throw invalid;
    let caller: StreamCaller | undefined;
    try {
      caller = await this.tickets.redeem(ticket);
    } catch {
      throw new ServiceUnavailableException('Tickets cannot be checked now; try again shortly');
    }
    if (!caller || caller.expiresAt <= Date.now()) throw invalid;
    return caller;
  }
}
