import { describe, expect, it } from '@jest/globals';
import { UsageError } from './cli.js';
import { parseScriptArgs, type ScriptArgsSpec } from './args.js';

const spec: ScriptArgsSpec = {
  usage: 'npm run x -- [group] [--year YYYY] [--yes]',
  positionals: { max: 1 },
  options: { year: 'string', yes: 'boolean' },
};

function problem(args: string[], s = spec): string {
  try {
    parseScriptArgs(args, s);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseScriptArgs', () => {
  it('reads positionals, boolean flags and option values in either form', () => {
    expect(parseScriptArgs(['g', '--year', '2023', '--yes'], spec)).toEqual({ positionals: ['g'], options: { year: '2023', yes: true } });
    expect(parseScriptArgs(['--year=2022'], spec)).toEqual({ positionals: [], options: { year: '2022' } });
  });

  it('rejects an unknown option, naming it and the usage', () => {
    expect(problem(['--force'])).toBe('unknown option --force (usage: npm run x -- [group] [--year YYYY] [--yes])');
    expect(problem(['-y'])).toMatch(/^unknown option -y /);
  });

  it('rejects an option without its value', () => {
    expect(problem(['--year'])).toMatch(/^--year needs a value /);
    expect(problem(['--year', '--yes'])).toMatch(/^--year needs a value /);
    expect(problem(['--year='])).toMatch(/^--year needs a value /);
  });

  it('rejects a value given to a flag, and a repeated option', () => {
    expect(problem(['--yes=no'])).toMatch(/^--yes takes no value /);
    expect(problem(['--year', '1', '--year', '2'])).toMatch(/^--year given twice /);
  });

  it('rejects extra and missing positionals', () => {
    expect(problem(['a', 'b'])).toMatch(/^unexpected argument "b" /);
    expect(problem([], { usage: 'u', positionals: { min: 1, max: 1 } })).toBe('missing argument (usage: u)');
    expect(problem(['a'], { usage: 'u' })).toBe('unexpected argument "a" (usage: u)');
  });
});
