import { execFileSync } from 'node:child_process';

/** The script tests run the compiled entry points (as `npm run …` does): build them once. */
export default function globalSetup() {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
