import { UsageError } from './cli.js';

export interface ScriptArgsSpec {
  /** Shown after every mistake, e.g. `npm run ddb:drop -- <table> [--yes] [prod]`. */
  usage: string;
  positionals?: { min?: number; max: number };
  /** `--name` flags (booleans) and `--name value` / `--name=value` options (strings). */
  options?: Record<string, 'boolean' | 'string'>;
}

export interface ScriptArgs {
  positionals: string[];
  options: Record<string, string | true>;
}

/** A one-line usage error: the problem, then how the script is called. */
export function usageError(spec: Pick<ScriptArgsSpec, 'usage'>, problem: string): UsageError {
  return new UsageError(`${problem} (usage: ${spec.usage})`);
}

/** Strict parsing: unknown options, missing values, repeated options and extra arguments are usage errors. */
export function parseScriptArgs(args: readonly string[], spec: ScriptArgsSpec): ScriptArgs {
  const known = spec.options ?? {};
  const { min = 0, max } = spec.positionals ?? { max: 0 };
  const result: ScriptArgs = { positionals: [], options: {} };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-') || arg === '-') {
      result.positionals.push(arg);
      continue;
    }
    const [flag, inlineValue] = splitOnce(arg, '=');
    const name = flag.replace(/^--?/, '');
    const kind = flag.startsWith('--') ? known[name] : undefined;
    if (!kind) throw usageError(spec, `unknown option ${flag}`);
    if (name in result.options) throw usageError(spec, `${flag} given twice`);
    if (kind === 'boolean') {
      if (inlineValue !== undefined) throw usageError(spec, `${flag} takes no value`);
      result.options[name] = true;
    } else {
      const value = inlineValue ?? args[++i];
      if (value === undefined || value === '' || (inlineValue === undefined && value.startsWith('-'))) {
        throw usageError(spec, `${flag} needs a value`);
      }
      result.options[name] = value;
    }
  }
  if (result.positionals.length > max) {
    throw usageError(spec, `unexpected argument ${JSON.stringify(result.positionals[max])}`);
  }
  if (result.positionals.length < min) throw usageError(spec, 'missing argument');
  return result;
}

function splitOnce(value: string, separator: string): [string, string | undefined] {
  const at = value.indexOf(separator);
  return at < 0 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
}
