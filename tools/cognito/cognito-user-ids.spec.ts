import { describe, expect, it } from '@jest/globals';
import type { CognitoLink } from '../../src/users/users.service.js';
import type { CognitoUser } from './cognito.client.js';
import { describeCognitoUserIdsUpdate, describeRefusals, planCognitoUserIds } from './cognito-user-ids.js';

// The script tests (test/scripts/cognito.spec.ts) run the rule against cognito-local and Postgres;
// these cover the cases that are awkward to set up there.

const account = (sub: string, email: string | undefined, extra: Partial<CognitoUser> = {}): CognitoUser => ({
  username: sub,
  sub,
  handle: sub,
  email,
  emailVerified: true,
  status: 'CONFIRMED',
  ...extra,
});

const user = (handle: string, email: string, cognito_user_id: string | null = null): CognitoLink => ({
  uuid: `uuid-${handle}`,
  handle,
  email,
  cognito_user_id,
});

describe('planCognitoUserIds', () => {
  it('refuses to link an account whose sub another user already has', () => {
    const plan = planCognitoUserIds(
      [account('sub-a', 'a@example.com')],
      [user('alice', 'a@example.com'), user('eve', 'e@example.com', 'sub-a')],
    );

    expect(plan.links).toEqual([]);
    expect(describeRefusals(plan.update)).toEqual(['refused alice: sub-a (verified email a@example.com) is already linked to eve']);
  });

  it('names accounts without an email, and mentions no preferred_username when an account has none', () => {
    const plan = planCognitoUserIds([account('sub-a', 'A@Example.com'), account('sub-x', undefined)], [user('alice', 'a@example.com')]);

    expect(describeCognitoUserIdsUpdate(plan.update)).toEqual(['updated alice: cognito_user_id = sub-a', 'no email (skipped): sub-x']);
  });

  it('compares preferred_username with the handle ignoring case', () => {
    const plan = planCognitoUserIds([account('sub-a', 'a@example.com', { handle: 'Alice' })], [user('alice', 'a@example.com', 'sub-a')]);

    expect(describeCognitoUserIdsUpdate(plan.update)).toEqual(['already set: alice']);
  });

  it('does not count an unverified or unconfirmed account with the same email as a second claimant', () => {
    const plan = planCognitoUserIds(
      [
        account('sub-a', 'a@example.com'),
        account('sub-b', 'a@example.com', { emailVerified: false }),
        account('sub-c', 'A@example.com', { status: 'UNCONFIRMED' }),
      ],
      [user('alice', 'a@example.com')],
    );

    expect(describeCognitoUserIdsUpdate(plan.update)).toEqual([
      'updated alice: cognito_user_id = sub-a',
      'email not verified (skipped): a@example.com',
      'not confirmed (skipped): A@example.com (UNCONFIRMED)',
    ]);
    expect(plan.update.refused).toEqual([]);
  });

  it('says when the pool has no users', () => {
    expect(describeCognitoUserIdsUpdate(planCognitoUserIds([], [user('alice', 'a@example.com')]).update)).toEqual([
      'no Cognito users: nothing to update',
    ]);
  });
});
