import { Command, CommanderError } from 'commander';
import { ProfileDirectoryError } from '@spanprof/profile';
import { UsageError } from './common';
import type { Output } from './common';
import { printable } from './format';
import { blocksCommand } from './commands/blocks';
import { diffCommand } from './commands/diff';
import { eventsCommand } from './commands/events';
import { hotspotsCommand } from './commands/hotspots';
import { spansCommand } from './commands/spans';
import { viewCommand } from './commands/view';
import { VERSION } from './version';

/** Runs the command line; resolves to the exit code. Output goes to `out`/`err` (stdout/stderr by default). */
export async function main(
  argv: string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  // Every line a command writes goes through here: control characters from profiles are escaped.
  const output: Output = { print: (text) => out(`${printable(text)}\n`), warn: (text) => err(`${printable(text)}\n`) };
  const program = new Command('spanprof')
    .description('Which functions and lines burned the time of a span, a trace or an endpoint, from spanprof profiles.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });
  for (const add of [spansCommand, hotspotsCommand, blocksCommand, eventsCommand, diffCommand, viewCommand]) add(program, output);

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError || e instanceof ProfileDirectoryError) {
      output.warn(e.message.startsWith('spanprof:') ? e.message : `spanprof: ${e.message}`);
      return e instanceof UsageError ? 1 : 2;
    }
    output.warn(`spanprof: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 70;
  }
}
