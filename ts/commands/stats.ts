import { totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { get, type Container } from '../api/container.js';
import { list } from '../api/containers.js';
import { cpuPercent, memoryInUse, type ContainerStats } from '../api/stats.js';
import { TscontainerCommand } from '../cli/command.js';
import { bytesSize, percent } from '../cli/format.js';
import { table } from '../cli/table.js';

/** Milliseconds between readings: CPU use is what was used between two of them. */
const INTERVAL = 1000;

interface Reading {
  id: string;
  cpuPercent: number | null;
  memoryPercent: number | null;
  stats: ContainerStats;
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
    let containers = await Promise.all(ids.map((id) => get(id)));
    let previous = await this.read(containers);
    for (;;) {
      await sleep(INTERVAL);
      const current = await this.read(containers);
      // A container deleted since the last reading is left out from now on.
      containers = containers.filter((c) => current.has(c.id));
      const readings = containers.flatMap((c) => {
        const now = current.get(c.id);
        const before = previous.get(c.id);
        return now === undefined ? [] : [reading(c.id, before, now)];
      });
      this.show(readings, flags.json, flags['no-stream']);
      if (flags['no-stream'] || containers.length === 0) return;
      previous = current;
    }
  }

  private async read(containers: readonly Container[]): Promise<Map<string, ContainerStats>> {
    const read = new Map<string, ContainerStats>();
    for (const container of containers) {
      try {
        read.set(container.id, await container.stats());
      } catch {
        // Deleted meanwhile: it has no cgroup to read any more.
      }
    }
    return read;
  }

  private show(readings: readonly Reading[], json: boolean, once: boolean): void {
    if (json) {
      for (const r of readings) {
        this.log(JSON.stringify({ id: r.id, cpuPercent: r.cpuPercent, memoryPercent: r.memoryPercent, ...r.stats }));
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
          `${bytesSize(memoryInUse(r.stats.memory))} / ${bytesSize(r.stats.memory.limit ?? totalmem())}`,
          percent(r.memoryPercent),
          String(r.stats.pids.current),
        ]),
      ),
    );
  }
}

function reading(id: string, before: ContainerStats | undefined, now: ContainerStats): Reading {
  const limit = now.memory.limit ?? totalmem();
  return {
    id,
    cpuPercent: before === undefined ? null : cpuPercent(before, now),
    memoryPercent: limit > 0 ? (memoryInUse(now.memory) / limit) * 100 : null,
    stats: now,
  };
}
