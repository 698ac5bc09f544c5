// The terminal progress reporter of fit, for Node only: a progress bar
// (cli-progress) while an epoch trains when the stream is a terminal, and
// one plain line per epoch otherwise, so logs and pipes get no control
// characters. Progress goes to stderr by default, leaving stdout to results.

import cliProgress from 'cli-progress';
import { formatEpochLog } from './progress.ts';
import type { ProgressReporter } from './progress.ts';

export interface TerminalProgressOptions {
  /** Defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Text put before every line, such as the run's name. */
  label?: string;
}

/** Creates a reporter that draws fit's progress on a terminal stream. */
export function terminalProgress(options: TerminalProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const prefix = options.label === undefined ? '' : `${options.label}  `;
  const writeEpoch = (text: string): void => {
    stream.write(`${prefix}${text}\n`);
  };
  if (!stream.isTTY) {
    return { epochEnd: (log, { epochs }) => writeEpoch(formatEpochLog(log, epochs)) };
  }

  let bar: cliProgress.SingleBar | undefined;
  return {
    epochStart({ epoch, epochs, steps }) {
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${prefix}epoch ${epoch}/${epochs} [{bar}] {value}/{total} steps  loss {loss}  acc {accuracy}  eta {eta_formatted}`,
          barsize: 24,
          clearOnComplete: true,
          // A hidden cursor stays hidden when a signal ends the program
          // mid-epoch, and fit cannot catch the signal in time: it yields to
          // the event loop only between epochs.
          hideCursor: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(steps, 0, { loss: '-', accuracy: '-' });
    },
    batchEnd({ step, loss, accuracy }) {
      bar?.update(step, { loss: loss.toFixed(4), accuracy: accuracy === undefined ? '-' : `${(100 * accuracy).toFixed(2)}%` });
    },
    epochEnd(log, { epochs }) {
      bar?.stop();
      bar = undefined;
      writeEpoch(formatEpochLog(log, epochs));
    },
  };
}
