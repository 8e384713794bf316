import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Raw, type Repository } from 'typeorm';
import { User } from './user.entity.js';

export interface ShortProfile {
  uuid: string;
  handle: string;
  display_name: string;
}

export type CognitoLink = Pick<User, 'uuid' | 'handle' | 'email' | 'cognito_user_id'>;

export interface NewUser {
  handle: string;
  display_name: string;
  email: string;
  cognito_user_id?: string | null;
}

/**
 * Handles equal to any of these, ignoring case: `lower(handle) IN (lower($1), …)`, the expression of
 * the unique index on lower(handle), so that the index serves the lookup.
 */
function handleIn(handles: string[]) {
  const parameters = Object.fromEntries(handles.map((h, i) => [`handle${i}`, h]));
  return Raw((column) => `lower(${column}) IN (${handles.map((_, i) => `lower(:handle${i})`).join(', ')})`, parameters);
}

/** Lookups of Cruddur users in Postgres; shared by the app and the scripts. Handles are compared ignoring case. */
@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  findByCognitoSub(sub: string): Promise<User | null> {
    return this.users.findOne({ where: { cognito_user_id: sub } });
  }

  findShortByHandle(handle: string): Promise<ShortProfile | null> {
    return this.users.findOne({ where: { handle: handleIn([handle]) }, select: { uuid: true, handle: true, display_name: true } });
  }

  /** Several users in one query (e.g. sender and receiver when posting). */
  findByHandles(handles: string[]): Promise<User[]> {
    if (handles.length === 0) return Promise.resolve([]);
    return this.users.find({ where: { handle: handleIn(handles) } });
  }

  /**
   * Inserts users that are not there yet (by handle, ignoring case: ON CONFLICT DO NOTHING on the
   * unique index on lower(handle)); existing ones are left as they are and returned.
   */
  async ensureUsers(users: NewUser[]): Promise<User[]> {
    await this.users
      .createQueryBuilder()
      .insert()
      .values(users.map((u) => ({ ...u, cognito_user_id: u.cognito_user_id ?? null })))
      .orIgnore()
      .execute();
    return this.findByHandles(users.map((u) => u.handle));
  }

  /** Every user's handle, email and link, ordered by handle: what linking to Cognito accounts needs. */
  listCognitoLinks(): Promise<CognitoLink[]> {
    return this.users.find({ select: { uuid: true, handle: true, email: true, cognito_user_id: true }, order: { handle: 'ASC' } });
  }

  /** Sets `cognito_user_id` to `sub` if it is still `was`; false when it changed meanwhile. */
  async setCognitoUserId(uuid: string, sub: string, was: string | null): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update()
      .set({ cognito_user_id: sub })
      .where('uuid = :uuid AND cognito_user_id IS NOT DISTINCT FROM :was', { uuid, was })
      .execute();
    return result.affected === 1;
  }
}
