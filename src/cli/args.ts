// Command-line parsing shared by the `slope` subcommands: Node's parseArgs,
// with its errors turned into CliError messages that name the option and
// what to do, instead of a TypeError with a stack trace.

import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { SlopeError } from '../errors.ts';

/** A command line that a `slope` subcommand rejects. */
export class CliError extends SlopeError {}

/** Rewrites one parseArgs error as a sentence without a final period. */
function describeParseError(code: string, message: string, argv: readonly string[]): string {
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    const index = argv.indexOf(option);
    const next = index >= 0 ? argv[index + 1] : undefined;
    // Only a value that looks like a negative number or a list of them is worth suggesting as `--x=value`.
    if (next !== undefined && /^-[\d.]/.test(next)) return `${option} needs a value, and ${JSON.stringify(next)} is read as an option; write ${option}=${next}`;
    if (next !== undefined && next.startsWith('-')) return `${option} needs a value, but the option ${next} follows it`;
    if (message.includes('argument missing')) return `${option} needs a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) return `unknown option ${option}`;
  const positional = /^Unexpected argument '(.*)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && positional !== undefined) return `unexpected argument ${JSON.stringify(positional)}; this command takes no positional arguments`;
  return message.split('\n').join(' ').replace(/\.$/, '');
}

/**
 * Runs parseArgs over `argv` for `slope COMMAND`. Raises CliError for every
 * error that parseArgs raises (codes ERR_PARSE_ARGS_*), naming the option and
 * pointing to `slope COMMAND --help`.
 */
export function parseCommandLine<T extends Omit<ParseArgsConfig, 'args'>>(command: string, argv: readonly string[], config: T): ReturnType<typeof parseArgs<T & { args: string[] }>> {
  try {
    return parseArgs({ ...config, args: [...argv] });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw error;
    throw new CliError(`Error in ${command}: ${describeParseError(code, (error as Error).message, argv)}. Run 'slope ${command} --help' for the options.`);
  }
}
