// Run by @datadog/pprof's out-of-memory monitor in a process of its own, while the
// application's V8 heap is at its limit: `node exportOomProfile.js <options JSON>
// <profile path>`. The native monitor wrote the heap's allocation profile as JSON to the
// path; this turns it into spanprof's heap profile file, tagged `spanprof.oom=true`, in
// the FileExporter's directory. The monitor waits for it (at most 15 s) before V8 goes on
// and the application dies.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TAG_OOM, writeProfileTags } from '@spanprof/profile';
import { profileFileBase } from '../FileExporter';
import { labelThread, threadLabels } from '../thread';
import type { AllocationProfileNode } from '@datadog/pprof/out/src/v8-types';
import type { Profile } from 'pprof-format';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serializeHeapProfile } = require('@datadog/pprof/out/src/profile-serializer') as {
  serializeHeapProfile: (prof: AllocationProfileNode, startTimeNanos: number, intervalBytes: number) => Profile;
};

/** What the profiler passes in the command line. */
export interface OomExportOptions {
  directory: string;
  /** The application's process ID (this one is the exporter's). */
  pid: number;
  intervalBytes: number;
  tags: Record<string, string>;
}

function main(argv: string[]): number {
  const [optionsJson, profilePath] = argv;
  if (optionsJson === undefined || profilePath === undefined) {
    process.stderr.write('spanprof: out-of-memory export: expected <options JSON> <profile path>\n');
    return 2;
  }
  const options = JSON.parse(optionsJson) as OomExportOptions;
  const tree = JSON.parse(readFileSync(profilePath, 'utf8')) as AllocationProfileNode;
  const profile = serializeHeapProfile(tree, Date.now() * 1e6, options.intervalBytes);
  // Armed on the main thread only (see ProfileCollector), as this process's main thread is.
  labelThread(profile, threadLabels());
  writeProfileTags(profile, { ...options.tags, [TAG_OOM]: 'true' });
  const file = join(options.directory, `${profileFileBase(new Date(), options.tags, 'oom', options.pid)}.heap.pb.gz`);
  writeFileSync(`${file}.partial`, gzipSync(profile.encode()));
  renameSync(`${file}.partial`, file);
  process.stderr.write(`spanprof: heap profile at out of memory written to ${file}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`spanprof: the heap profile at out of memory could not be written: ${String(err)}\n`);
    process.exitCode = 1;
  }
}
