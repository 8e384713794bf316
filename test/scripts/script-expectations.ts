import { expect } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScriptResult } from '../support/run-script.js';

/** Nothing listens on port 1: what an operator sees when the service is down. */
export const UNREACHABLE_DYNAMODB = 'http://127.0.0.1:1';
export const UNREACHABLE_POSTGRES = 'postgres://postgres@127.0.0.1:1/cruddur';

/** A script failed the way operators are promised: exit 1, one line on stderr, no stack trace. */
export function expectOneLineFailure(result: ScriptResult, script: string, message: RegExp): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
  expect(result.stderr).toMatch(/^[^\n]+\n$/);
  expect(result.stderr).not.toContain('    at ');
  expect(result.stderr.startsWith(`${script}: `)).toBe(true);
  expect(result.stderr).toMatch(message);
}

/** A working directory for spawned scripts (no `.local/stack.json`), removed by `remove()`. */
export function scratchDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'cruddur-script-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
