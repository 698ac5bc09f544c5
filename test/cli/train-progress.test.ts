import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runProgress } from '../../src/cli/train-progress.ts';
import { terminalProgress } from '../../src/layers/progress-node.ts';

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/** A writable stream that claims to be a terminal and keeps what was written. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  Object.assign(stream, { isTTY: true, columns: 100, rows: 40 });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

describe('runProgress on a terminal', () => {
  it('shows the cursor again when stopped mid-epoch', () => {
    const terminal = fakeTerminal();
    const progress = runProgress(['relu'], terminal.stream);
    const reporter = progress.reporter('relu');
    reporter.epochStart?.({ epoch: 1, epochs: 2, steps: 10 });
    reporter.batchEnd?.({ epoch: 1, step: 3, steps: 10, loss: 1.5 });
    expect(terminal.text()).toContain(HIDE_CURSOR);
    progress.stop();
    expect(terminal.text().lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(terminal.text().lastIndexOf(HIDE_CURSOR));
  });
});

describe('terminalProgress', () => {
  it('never hides the cursor', () => {
    const terminal = fakeTerminal();
    const reporter = terminalProgress({ stream: terminal.stream });
    reporter.epochStart?.({ epoch: 1, epochs: 2, steps: 10 });
    reporter.batchEnd?.({ epoch: 1, step: 3, steps: 10, loss: 1.5 });
    expect(terminal.text()).toContain('epoch 1/2');
    expect(terminal.text()).not.toContain(HIDE_CURSOR);
  });
});
