import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { UsageError } from '../common';
import type { Output } from '../common';
import { DEFAULT_VIEW_PORT, ViewServer } from '../ViewServer';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return n;
}

/** `spanprof view DIR [--port N]`: the local web viewer, until SIGINT or SIGTERM. */
export function viewCommand(program: Command, { print }: Output): void {
  program
    .command('view')
    .description('a local web viewer: search profiles by tags, flame graphs of a span, trace or endpoint, versions compared')
    .argument('<dir>', 'profile directory (FileExporter output); new files are picked up as they arrive')
    .option('--port <n>', `port on 127.0.0.1 (0: any free port)`, parsePort, DEFAULT_VIEW_PORT)
    .action(async (dir: string, opts: { port: number }) => {
      const server = new ViewServer({ directory: dir, port: opts.port });
      let url: string;
      try {
        url = await server.start();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UsageError(`spanprof: port ${opts.port} is in use; choose another with --port (0 picks a free one)`);
        throw e;
      }
      const n = server.profiles.profiles.length;
      print(`spanprof view: ${n} profile(s) from ${server.profiles.directory}`);
      print(`spanprof view: open ${url}   (a span's hotspots: ${url}span/<span id>; Ctrl-C stops)`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}
