// Run by @datadog/pprof's out-of-memory monitor in a process of its own, while the
// application's V8 heap is at its limit: `node exportOomProfile.js <options file>
// <profile path>`. The native monitor wrote the heap's allocation profile as JSON to the
// path; this turns it into spanprof's heap profile, tagged `spanprof.oom=true`, writes it
// to the FileExporter's directory and sends it to the exporters made again from their
// recipes, within 10 s. The monitor waits for it (at most 15 s) before V8 goes on and the
// application dies.
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TAG_OOM, writeProfileTags } from '@spanprof/profile';
import { ExportResultCode, KNOWN_EXPORTERS } from '@spanprof/exporter-base';
import type { ExporterRecipe, ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';
import { profileFileBase } from '../FileExporter';
import { makeDirectory, writeNewFileSync } from '../files';
import { readOomOptions } from './oomOptionsFile';
import { labelThread, threadLabels } from '../thread';
import type { AllocationProfileNode } from '@datadog/pprof/out/src/v8-types';
import type { Profile } from 'pprof-format';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serializeHeapProfile } = require('@datadog/pprof/out/src/profile-serializer') as {
  serializeHeapProfile: (prof: AllocationProfileNode, startTimeNanos: number, intervalBytes: number) => Profile;
};

/** What the profiler hands this process (in a file only its user reads: exporter options may hold credentials). */
export interface OomExportOptions {
  /** The FileExporter's directory, if the session has one. */
  directory: string | undefined;
  /** The application's process ID (this one is the exporter's). */
  pid: number;
  intervalBytes: number;
  tags: Record<string, string>;
  /** The exporters to send the profile to, made again here. */
  recipes: readonly ExporterRecipe[];
}

/** The whole sending to exporters, inside the monitor's 15 s. */
const EXPORT_DEADLINE_MILLIS = 10_000;

const say = (line: string): boolean => process.stderr.write(`spanprof: ${line}\n`);

async function main(argv: string[]): Promise<number> {
  const [optionsArg, profilePath] = argv;
  if (optionsArg === undefined || profilePath === undefined) {
    say('out-of-memory export: expected <options file> <profile path>');
    return 2;
  }
  // Only a private file of this user (see OomOptionsFile).
  const options = JSON.parse(readOomOptions(optionsArg)) as OomExportOptions;
  const tree = JSON.parse(readFileSync(profilePath, 'utf8')) as AllocationProfileNode;
  const profile = serializeHeapProfile(tree, Date.now() * 1e6, options.intervalBytes);
  // Armed on the main thread only (see ProfileCollector), as this process's main thread is.
  labelThread(profile, threadLabels());
  const tags = { ...options.tags, [TAG_OOM]: 'true' };
  writeProfileTags(profile, tags);
  const encoded = gzipSync(profile.encode());
  if (options.directory !== undefined) {
    // The FileExporter makes its directory at its first export, which may not have come yet.
    makeDirectory(options.directory);
    const file = join(options.directory, `${profileFileBase(new Date(), options.tags, 'oom', options.pid)}.heap.pb.gz`);
    writeNewFileSync(`${file}.partial`, encoded);
    renameSync(`${file}.partial`, file);
    say(`heap profile at out of memory written to ${file}`);
  }
  const recipes = options.recipes ?? [];
  if (recipes.length === 0) return 0;
  const now = new Date();
  const batch: ProfileBatch = { start: now, end: now, tags, profiles: [{ kind: 'heap', profile, encoded }], sequence: 0, requests: {} };
  const sent = await Promise.all(recipes.map((recipe) => sendTo(recipe, batch)));
  return sent.every(Boolean) ? 0 : 1;
}

/** Makes the exporter again and sends the batch, within the deadline; true when it was sent. */
async function sendTo(recipe: ExporterRecipe, batch: ProfileBatch): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`not sent within ${EXPORT_DEADLINE_MILLIS} ms`), EXPORT_DEADLINE_MILLIS);
  });
  try {
    // One of spanprof's own exporters, by name: never a module the file names.
    const known = Object.hasOwn(KNOWN_EXPORTERS, recipe.exporter) ? KNOWN_EXPORTERS[recipe.exporter] : undefined;
    if (known === undefined) throw new Error(`not one of spanprof's exporters (${Object.keys(KNOWN_EXPORTERS).join(', ')})`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Exporter = (require(known.module) as Record<string, new (options: unknown) => ProfileExporter>)[known.exportName];
    if (typeof Exporter !== 'function') throw new Error(`${known.module} exports no ${known.exportName}`);
    const exporter = new Exporter(recipe.options);
    const outcome = await Promise.race([
      exporter.export(batch).then((r) => (r.code === ExportResultCode.SUCCESS ? '' : String(r.error?.message ?? 'failed'))),
      deadline,
    ]);
    void Promise.race([exporter.shutdown(), deadline]).catch(() => undefined);
    if (outcome !== '') {
      say(`heap profile at out of memory not sent by ${nameOf(recipe)}: ${outcome}`);
      return false;
    }
    say(`heap profile at out of memory sent by ${nameOf(recipe)}`);
    return true;
  } catch (err) {
    say(`heap profile at out of memory not sent by ${nameOf(recipe)}: ${String(err)}`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** The exporter's class name for messages (`PyroscopeExporter`), or the name the file gave. */
function nameOf(recipe: ExporterRecipe): string {
  return Object.hasOwn(KNOWN_EXPORTERS, recipe.exporter) ? KNOWN_EXPORTERS[recipe.exporter].exportName : JSON.stringify(String(recipe.exporter)).slice(0, 40);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // An exporter's sockets or timers must not hold the application's last seconds.
      setTimeout(() => process.exit(), 100).unref();
    },
    (err: unknown) => {
      say(`the heap profile at out of memory could not be written: ${String(err)}`);
      process.exitCode = 1;
    },
  );
}
