// Progress of the runs of `slope train` on stderr. On a terminal, each run
// gets a progress bar (cli-progress), and each finished epoch is printed
// above the bars. Elsewhere, each finished epoch prints one plain line.

import cliProgress from 'cli-progress';
import { formatEpochLog } from '../layers/progress.ts';
import type { ProgressReporter } from '../layers/progress.ts';

export interface RunProgress {
  /** Returns the reporter of the run with this label. */
  reporter(label: string): ProgressReporter;
  /** Removes the bars; call once every run finished or failed. */
  stop(): void;
}

/** Creates the progress display of several runs on one stream. */
export function runProgress(labels: readonly string[], stream: NodeJS.WriteStream = process.stderr): RunProgress {
  const width = Math.max(...labels.map((l) => l.length));
  const pad = (label: string): string => label.padEnd(width);

  if (!stream.isTTY) {
    return {
      reporter: (label) => ({ epochEnd: (log, { epochs }) => void stream.write(`${pad(label)}  ${formatEpochLog(log, epochs)}\n`) }),
      stop: () => {},
    };
  }

  const bars = new cliProgress.MultiBar(
    { stream, format: '{label}  epoch {epoch} [{bar}] {value}/{total} steps  loss {loss}  acc {accuracy}', barsize: 24, clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  return {
    reporter(label) {
      let bar: cliProgress.SingleBar | undefined;
      return {
        epochStart({ epoch, epochs, steps }) {
          const payload = { label: pad(label), epoch: `${epoch}/${epochs}`, loss: '-', accuracy: '-' };
          if (bar === undefined) bar = bars.create(steps, 0, payload);
          else {
            bar.setTotal(steps);
            bar.update(0, payload);
          }
        },
        batchEnd({ step, loss, accuracy }) {
          bar?.update(step, { loss: loss.toFixed(4), accuracy: accuracy === undefined ? '-' : `${(100 * accuracy).toFixed(2)}%` });
        },
        epochEnd(log, { epochs }) {
          bars.log(`${pad(label)}  ${formatEpochLog(log, epochs)}\n`);
        },
      };
    },
    stop: () => bars.stop(),
  };
}
