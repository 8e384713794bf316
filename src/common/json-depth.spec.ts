import { describe, expect, it } from '@jest/globals';
import { jsonNestingDepth } from './json-depth.js';

describe('jsonNestingDepth', () => {
  it.each([
    ['"text"', 0],
    ['{}', 1],
    ['{"message":"hi","handle":"bayko"}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['[[[[]]],[]]', 4],
  ])('%s nests %i deep', (text, depth) => {
    expect(jsonNestingDepth(text)).toBe(depth);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestingDepth('{"message":"[[[{{{ \\" ]]] \\\\"}')).toBe(1);
  });

  it('measures a nesting bomb without recursion', () => {
    const bomb = `{"message":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(jsonNestingDepth(bomb)).toBe(100_001);
  });
});
