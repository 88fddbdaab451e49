import * as Flags from '@oclif/core/flags';

import { diskUsage, type DiskUsage } from '../../api/images.js';
import { ImageCommand, humanSize, storage, storageFlags } from '../../cli/images.js';
import { table } from '../../cli/table.js';

function percentOf(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${Math.round((part / whole) * 100)}%`;
}

export default class Df extends ImageCommand {
  static override summary = "Show the image store's use of the disk.";

  static override description = `podman's table: TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE for Images (sizes of their unique unpacked layers; active: used by a container), Containers (their writable layers) and Local Volumes (tscontainer has no named volumes: 0). --json prints the whole record, with blobs and layers.`;

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  static override flags = {
    json: Flags.boolean({ description: 'print the record as JSON' }),
    ...storageFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Df);
    const df: DiskUsage = await diskUsage(storage(flags));
    if (flags.json) {
      this.log(JSON.stringify(df, null, 4));
      return;
    }
    const line = (type: string, l: DiskUsage['images']) => [
      type,
      String(l.total),
      String(l.active),
      humanSize(l.size),
      `${humanSize(l.reclaimable)} (${percentOf(l.reclaimable, l.size)})`,
    ];
    this.log(
      table(
        ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
        [line('Images', df.images), line('Containers', df.containers), ['Local Volumes', '0', '0', '0 B', '0 B (0%)']],
      ),
    );
  }
}
