import { Inject, Injectable } from '@nestjs/common';
import { getRepositoryToken } from '@nestjs/typeorm';
import { In, type Repository } from 'typeorm';
import { User } from './user.entity.js';

export interface ShortProfile {
  uuid: string;
  handle: string;
  display_name: string;
}

export interface NewUser {
  handle: string;
  display_name: string;
  email: string;
  cognito_user_id?: string | null;
}

/** Lookups of Cruddur users in Postgres; shared by the app and the scripts. */
@Injectable()
export class UsersService {
  constructor(@Inject(getRepositoryToken(User)) private readonly users: Repository<User>) {}

  findByCognitoSub(sub: string): Promise<User | null> {
    return this.users.findOne({ where: { cognito_user_id: sub } });
  }

  findShortByHandle(handle: string): Promise<ShortProfile | null> {
    return this.users.findOne({ where: { handle }, select: { uuid: true, handle: true, display_name: true } });
  }

  /** Several users in one query (e.g. sender and receiver when posting). */
  findByHandles(handles: string[]): Promise<User[]> {
    return this.users.find({ where: { handle: In(handles) } });
  }

  /** Inserts users that are not there yet (by handle); existing ones are left as they are. */
  async ensureUsers(users: NewUser[]): Promise<User[]> {
    await this.users
      .createQueryBuilder()
      .insert()
      .values(users.map((u) => ({ ...u, cognito_user_id: u.cognito_user_id ?? null })))
      .orIgnore()
      .execute();
    return this.findByHandles(users.map((u) => u.handle));
  }

  /**
   * Sets `cognito_user_id` by handle where it differs; returns the handles changed and those that
   * already had it (handles not in Postgres are in neither).
   */
  async updateCognitoUserIds(subsByHandle: Record<string, string>): Promise<{ updated: string[]; unchanged: string[] }> {
    const updated: string[] = [];
    const unchanged: string[] = [];
    for (const [handle, sub] of Object.entries(subsByHandle)) {
      const result = await this.users
        .createQueryBuilder()
        .update()
        .set({ cognito_user_id: sub })
        .where('handle = :handle AND cognito_user_id IS DISTINCT FROM :sub', { handle, sub })
        .execute();
      if (result.affected) updated.push(handle);
      else if (await this.users.exists({ where: { handle } })) unchanged.push(handle);
    }
    return { updated, unchanged };
  }
}
