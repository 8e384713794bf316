import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Runs a compiled script entry point (`dist/scripts/<name>.js`, what `npm run <script>` runs) in a
 * fresh working directory, so that no `.local/stack.json` of a developer's running stack is seen.
 * Only the given environment is passed (plus PATH), never the test process's own.
 */
export function runScript(name: string, args: string[] = [], env: Record<string, string> = {}, cwd?: string): Promise<ScriptResult> {
  // A directory of its own when none is given, removed once the script is done.
  const scratch = cwd ? undefined : mkdtempSync(join(tmpdir(), 'cruddur-script-'));
  return new Promise<ScriptResult>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'scripts', `${name}.js`), ...args], {
      cwd: cwd ?? scratch,
      env: { PATH: process.env.PATH ?? '', APP_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  }).finally(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
}
