import { totalmem } from 'node:os';

import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { get } from '../api/container.js';
import { list } from '../api/containers.js';
import { memoryInUse, type StatsReading } from '../api/stats.js';
import { TscontainerCommand } from '../cli/command.js';
import { failure } from '../cli/errors.js';
import { bytesSize, percent } from '../cli/format.js';
import { table } from '../cli/table.js';

/** Milliseconds between readings: CPU use is what was used between two of them. */
const INTERVAL = 1000;

interface Stream {
  id: string;
  readings: AsyncGenerator<StatsReading, void, undefined>;
}

export default class Stats extends TscontainerCommand {
  static override summary = "Show containers' resource usage.";

  static override description = `CPU use (100% is one CPU busy, between two readings a second apart), memory in use (page cache the kernel can drop not counted) against the limit (the host's memory when there is none), and the number of processes. Refreshed every second until interrupted, or printed once with --no-stream. Without ids, every running container.
--json prints one JSON object per container per reading: id, cpuPercent, memoryPercent, and cpu, memory and pids in full (limits are null when unlimited).`;

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --no-stream --json web',
  ];

  static override args = {
    ids: Args.string({ description: 'container ids (default: all running)', multiple: true, ignoreStdin: true }),
  };

  static override flags = {
    'no-stream': Flags.boolean({ description: 'print one reading and exit' }),
    json: Flags.boolean({ description: 'print JSON lines instead of a table' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Stats);
    const ids = args.ids ?? (await list()).map((c) => c.id);
    const containers = await Promise.all(ids.map((id) => get(id)));
    let streams: Stream[] = containers.map((c) => ({ id: c.id, readings: c.stats({ stream: true, interval: INTERVAL }) }));
    try {
      for (;;) {
        const next = await Promise.all(streams.map(async (stream) => ({ stream, reading: await this.next(stream) })));
        // A container that stopped or was deleted since the last reading is left out from now on.
        streams = next.flatMap(({ stream, reading }) => (reading === undefined ? [] : [stream]));
        this.show(
          next.flatMap(({ stream, reading }) => (reading === undefined ? [] : [{ id: stream.id, ...reading }])),
          flags.json,
          flags['no-stream'],
        );
        if (flags['no-stream'] || streams.length === 0) return;
      }
    } finally {
      await Promise.all(streams.map((stream) => stream.readings.return()));
    }
  }

  /** The stream's next reading; undefined once it has ended, or failed (reported in one line). */
  private async next(stream: Stream): Promise<StatsReading | undefined> {
    try {
      const { done, value } = await stream.readings.next();
      return done === true ? undefined : value;
    } catch (error) {
      const { message, exitCode } = failure(error, this.failureExitCode);
      if (message !== undefined) this.report(message);
      process.exitCode = exitCode;
      return undefined;
    }
  }

  private show(readings: readonly (StatsReading & { id: string })[], json: boolean, once: boolean): void {
    if (json) {
      for (const { id, cpuPercent, ...stats } of readings) {
        this.log(JSON.stringify({ id, cpuPercent, memoryPercent: memoryPercent(stats), ...stats }));
      }
      return;
    }
    // Refreshed in place on a terminal, as docker stats does.
    if (!once && process.stdout.isTTY) process.stdout.write('\u001B[2J\u001B[H');
    this.log(
      table(
        ['CONTAINER ID', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
        readings.map((r) => [
          r.id,
          percent(r.cpuPercent),
          `${bytesSize(memoryInUse(r.memory))} / ${bytesSize(r.memory.limit ?? totalmem())}`,
          percent(memoryPercent(r)),
          String(r.pids.current),
        ]),
      ),
    );
  }
}

/** Memory in use as a percentage of the limit, or of the host's memory when there is none. */
function memoryPercent(stats: Pick<StatsReading, 'memory'>): number | null {
  const limit = stats.memory.limit ?? totalmem();
  return limit > 0 ? (memoryInUse(stats.memory) / limit) * 100 : null;
}
