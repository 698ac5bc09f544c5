import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const launcher = fileURLToPath(new URL('../../bin/slope.js', import.meta.url));

/** Runs the `slope` launcher and resolves with its status and output, also when it fails. */
async function slope(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [launcher, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('slope command', () => {
  it('rejects a missing command on stderr', async () => {
    const { code, stdout, stderr } = await slope([]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^slope: missing command; give one of inspect, dead-units, train\n\nUsage: slope COMMAND/);
  }, 40_000);

  it('prints help on stdout for --help', async () => {
    const { code, stdout, stderr } = await slope(['--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Usage: slope COMMAND/);
  }, 40_000);

  it('prints an option error without a stack', async () => {
    const { code, stderr } = await slope(['inspect', fileURLToPath(new URL('../../examples/conv-leaky.ts', import.meta.url)), '--backend']);
    expect(code).toBe(1);
    expect(stderr).toBe("slope: Error in inspect: --backend needs a value. Run 'slope inspect --help' for the options.\n");
  }, 40_000);
});
