import type { CognitoLink, UsersService } from '../../src/users/users.service.js';
import type { CognitoUser } from './cognito.client.js';

/**
 * How a Cruddur user is tied to a Cognito account (`users.cognito_user_id` = the account's `sub`):
 * by an email that Cognito has verified (only someone who reads that mailbox can verify it), of a
 * confirmed account, equal to the user's email ignoring case. Never by `preferred_username`: any
 * user can set theirs to anyone's handle with their own access token.
 */
export interface CognitoUserIdsUpdate {
  /** Handles whose `cognito_user_id` was set now (it was empty), with the sub. */
  updated: Record<string, string>;
  /** Handles whose old sub is no longer in the pool (account deleted, pool recreated), set now to the new one. */
  relinked: Record<string, { sub: string; was: string }>;
  /** Handles that already had their sub. */
  unchanged: string[];
  /** `{handle: preferred_username}` of linked users whose Cognito preferred_username is something else. */
  handleDiffers: Record<string, string>;
  /** Emails of verified, confirmed accounts that no Postgres user has. */
  notInDatabase: string[];
  /** Emails of accounts whose email is not verified. */
  unverified: string[];
  /** `email (status)` of accounts that are not confirmed. */
  notConfirmed: string[];
  /** Usernames of accounts without an email. */
  noEmail: string[];
  /** Links that were not made or changed; nothing was written for these users. */
  refused: { handles: string[]; reason: string }[];
}

/** A change the plan wants: set the user's sub, provided it is still `was`. */
interface Link {
  uuid: string;
  handle: string;
  sub: string;
  was: string | null;
}

/**
 * Links the Postgres users to the pool's accounts (see CognitoUserIdsUpdate). `poolUsers` must be
 * every user of the pool: a linked sub that is not among them counts as deleted and is replaced.
 */
export async function updateCognitoUserIds(poolUsers: CognitoUser[], users: UsersService): Promise<CognitoUserIdsUpdate> {
  const { update, links } = planCognitoUserIds(poolUsers, await users.listCognitoLinks());
  for (const link of links) {
    // Conditional on what the plan read: a link changed meanwhile (another run, an operator) is left for the next run to judge.
    if (await users.setCognitoUserId(link.uuid, link.sub, link.was)) continue;
    delete update.updated[link.handle];
    delete update.relinked[link.handle];
    delete update.handleDiffers[link.handle];
    update.refused.push({ handles: [link.handle], reason: 'its cognito_user_id changed while this ran (run it again)' });
  }
  return update;
}

/** The linking rule, without I/O: the links to write, and the report as it is once they are written. */
export function planCognitoUserIds(poolUsers: CognitoUser[], users: CognitoLink[]): { update: CognitoUserIdsUpdate; links: Link[] } {
  const links: Link[] = [];
  const update: CognitoUserIdsUpdate = {
    updated: {},
    relinked: {},
    unchanged: [],
    handleDiffers: {},
    notInDatabase: [],
    unverified: [],
    notConfirmed: [],
    noEmail: [],
    refused: [],
  };
  const accountsByEmail = new Map<string, CognitoUser[]>();
  for (const account of poolUsers) {
    if (!account.email) update.noEmail.push(account.username);
    else if (!account.emailVerified) update.unverified.push(account.email);
    else if (account.status !== 'CONFIRMED') update.notConfirmed.push(`${account.email} (${account.status ?? 'no status'})`);
    else push(accountsByEmail, account.email.toLowerCase(), account);
  }
  const usersByEmail = new Map<string, CognitoLink[]>();
  for (const user of users) push(usersByEmail, user.email.toLowerCase(), user);
  const usersBySub = new Map(users.flatMap((u) => (u.cognito_user_id ? [[u.cognito_user_id, u] as const] : [])));
  const poolSubs = new Set(poolUsers.map((u) => u.sub));
  const refuse = (matches: CognitoLink[], reason: string) => update.refused.push({ handles: matches.map((u) => u.handle), reason });

  for (const [email, accounts] of accountsByEmail) {
    const matches = usersByEmail.get(email) ?? [];
    if (matches.length === 0) {
      update.notInDatabase.push(...accounts.map((a) => a.email!));
      continue;
    }
    // Ambiguity is never settled by a guess: an operator decides which account or user is the right one.
    if (accounts.length > 1) {
      refuse(matches, `${accounts.length} Cognito accounts have the verified email ${email} (${accounts.map((a) => a.sub).join(', ')})`);
      continue;
    }
    if (matches.length > 1) {
      refuse(matches, `these Postgres users share the email ${email}`);
      continue;
    }
    const [account] = accounts;
    const [user] = matches;
    const holder = usersBySub.get(account.sub);
    if (holder && holder !== user) {
      refuse(matches, `${account.sub} (verified email ${email}) is already linked to ${holder.handle}`);
      continue;
    }
    if (user.cognito_user_id && user.cognito_user_id !== account.sub && poolSubs.has(user.cognito_user_id)) {
      // Two live accounts claim one user: re-mapping silently would hand the user over.
      refuse(
        matches,
        `linked to ${user.cognito_user_id}, which is still in the pool, but the account with its verified email ${email} is ${account.sub}`,
      );
      continue;
    }
    if (user.cognito_user_id === account.sub) update.unchanged.push(user.handle);
    else {
      links.push({ uuid: user.uuid, handle: user.handle, sub: account.sub, was: user.cognito_user_id });
      if (user.cognito_user_id) update.relinked[user.handle] = { sub: account.sub, was: user.cognito_user_id };
      else update.updated[user.handle] = account.sub;
    }
    // `handle` falls back to the username when the account has no preferred_username: nothing to mention then.
    if (account.handle !== account.username && account.handle.toLowerCase() !== user.handle.toLowerCase()) {
      update.handleDiffers[user.handle] = account.handle;
    }
  }
  return { update, links };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** One line per outcome, for the scripts' stdout. */
export function describeCognitoUserIdsUpdate(update: CognitoUserIdsUpdate): string[] {
  const lines = Object.entries(update.updated).map(([handle, sub]) => `updated ${handle}: cognito_user_id = ${sub}`);
  for (const [handle, { sub, was }] of Object.entries(update.relinked)) {
    lines.push(`relinked ${handle}: cognito_user_id = ${sub} (was ${was}, no longer in the pool)`);
  }
  if (update.unchanged.length) lines.push(`already set: ${update.unchanged.join(', ')}`);
  const differs = Object.entries(update.handleDiffers).map(([handle, preferred]) => `${handle} (${JSON.stringify(preferred)})`);
  if (differs.length) lines.push(`preferred_username differs from the handle (linked by verified email): ${differs.join(', ')}`);
  if (update.notInDatabase.length) lines.push(`not in Postgres (skipped): ${update.notInDatabase.join(', ')}`);
  if (update.unverified.length) lines.push(`email not verified (skipped): ${update.unverified.join(', ')}`);
  if (update.notConfirmed.length) lines.push(`not confirmed (skipped): ${update.notConfirmed.join(', ')}`);
  if (update.noEmail.length) lines.push(`no email (skipped): ${update.noEmail.join(', ')}`);
  if (lines.length === 0 && update.refused.length === 0) lines.push('no Cognito users: nothing to update');
  return lines;
}

/** One line per refusal, for the scripts' stderr (they then exit with 1). */
export function describeRefusals(update: CognitoUserIdsUpdate): string[] {
  return update.refused.map(({ handles, reason }) => `refused ${handles.join(', ')}: ${reason}`);
}
