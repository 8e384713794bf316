import { describe, expect, it } from '@jest/globals';
import { rememberVerified, type AccessTokenVerifier, type VerifiedToken } from './access-token.verifier.js';

const EXP = 1_900_000_000;

/** A verifier that accepts the tokens it is given (with their expiry) and counts its checks. */
function countingVerifier(valid: Record<string, VerifiedToken>, clock: { now: number }) {
  const calls: string[] = [];
  const verifier: AccessTokenVerifier = {
    async verify(token) {
      calls.push(token);
      const found = valid[token];
      if (!found || found.exp * 1000 <= clock.now) throw new Error('invalid or expired');
      return found;
    },
  };
  return { verifier, calls };
}

describe('rememberVerified', () => {
  it('checks a token once while it is valid and answers from memory after', async () => {
    const clock = { now: (EXP - 3600) * 1000 };
    const { verifier, calls } = countingVerifier({ a: { sub: 'alice', exp: EXP }, b: { sub: 'bob', exp: EXP } }, clock);
    const cached = rememberVerified(verifier, () => clock.now);

    for (let i = 0; i < 3; i++) {
      expect(await cached.verify('a')).toEqual({ sub: 'alice', exp: EXP });
      expect(await cached.verify('b')).toEqual({ sub: 'bob', exp: EXP });
    }

    expect(calls).toEqual(['a', 'b']);
  });

  it('verifies again once the token has expired, and then refuses it', async () => {
    const clock = { now: (EXP - 10) * 1000 };
    const { verifier, calls } = countingVerifier({ a: { sub: 'alice', exp: EXP } }, clock);
    const cached = rememberVerified(verifier, () => clock.now);
    await cached.verify('a');

    clock.now = EXP * 1000;

    await expect(cached.verify('a')).rejects.toThrow('invalid or expired');
    await expect(cached.verify('a')).rejects.toThrow('invalid or expired');
    expect(calls).toEqual(['a', 'a', 'a']);
  });

  it('never remembers a refusal', async () => {
    const clock = { now: 0 };
    const { verifier, calls } = countingVerifier({}, clock);
    const cached = rememberVerified(verifier, () => clock.now);

    await expect(cached.verify('forged')).rejects.toThrow();
    await expect(cached.verify('forged')).rejects.toThrow();

    expect(calls).toEqual(['forged', 'forged']);
  });

  it('keeps at most `max` tokens', async () => {
    const clock = { now: 0 };
    const { verifier, calls } = countingVerifier({ a: { sub: 'alice', exp: EXP }, b: { sub: 'bob', exp: EXP } }, clock);
    const cached = rememberVerified(verifier, () => clock.now, 1);

    await cached.verify('a');
    await cached.verify('b');
    await cached.verify('a');

    expect(calls).toEqual(['a', 'b', 'a']);
  });
});
