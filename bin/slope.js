#!/usr/bin/env node
// Launcher of the `slope` command: registers tsx so that the TypeScript
// sources run directly, then starts the command line.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
