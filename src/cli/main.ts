// The `slope` command line: dispatches to a subcommand. Errors that slope
// raises on purpose print their message and exit with status 1; anything
// else is a bug and prints its stack. A missing or unknown command is a
// usage error: the help goes to stderr and the status is 1, while
// `slope --help` prints it to stdout with status 0.

import { SlopeError } from '../errors.ts';
import { inspectCommand } from './inspect.ts';
import { deadUnitsCommand } from './dead-units.ts';
import { trainCommand } from './train.ts';

const HELP = `Usage: slope COMMAND [options]

Commands:
  inspect FILE   compile a graph and print its passes and kernels
  train          train a small CNN with ReLU and LeakyReLU and write a report
  dead-units     classify ReLU units as dead, always active or unstable

Run 'slope COMMAND --help' for a command's options.
`;

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  inspect: (argv) => inspectCommand(argv),
  'dead-units': (argv) => deadUnitsCommand(argv),
  train: (argv) => trainCommand(argv),
};

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`slope: missing command; give one of ${Object.keys(COMMANDS).join(', ')}\n\n${HELP}`);
    return 1;
  }
  if (name === '--help' || name === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    process.stderr.write(`slope: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 1;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof SlopeError) {
      // slope's own messages already start with 'Error in <command>'.
      const message = (error as Error).message;
      process.stderr.write(message.startsWith('Error in ') ? `slope: ${message}\n` : `slope ${name}: ${message}\n`);
      return 1;
    }
    throw error;
  }
}

// A reader that closes early (`slope inspect FILE | head`) ends the output, not the program with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
