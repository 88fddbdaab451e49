import * as Flags from '@oclif/core/flags';

import { images, type ImageSummary } from '../api/images.js';
import { ago } from '../cli/format.js';
import { ImageCommand, applyTemplate, hex, imageRows, storage, storageFlags } from '../cli/images.js';
import { table } from '../cli/table.js';

const FIELDS = ['Repository', 'Tag', 'Digest', 'ID', 'Created', 'CreatedAt', 'Size'] as const;

/** One image as podman's `images --format json` shows it. */
export interface ImageJson {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Containers: number;
  Names: string[];
  Digest: string;
  Created: number;
  CreatedAt: string;
  Dangling: boolean;
  /** The config's labels; null without any, as podman shows them. */
  Labels: Record<string, string> | null;
}

function asJson(image: ImageSummary): ImageJson {
  const created = image.created === undefined ? Number.NaN : Date.parse(image.created);
  return {
    Id: hex(image.id),
    ParentId: '',
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Size: image.size,
    SharedSize: 0,
    VirtualSize: image.size,
    Containers: image.containers,
    Names: image.repoTags,
    Digest: image.digest,
    Created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
    CreatedAt: image.created ?? '',
    Dangling: image.dangling,
    Labels: image.labels ?? null,
  };
}

export default class Images extends ImageCommand {
  static override summary = 'List images in the store.';

  static override description = `podman's columns: REPOSITORY, TAG, [DIGEST with --digests,] IMAGE ID (12 hex digits of the config's digest; all of them with --no-trunc), CREATED, SIZE (of the unpacked layers, decimal units). One row per name; an image without one is <none> <none>. --format takes a Go template of {{.Repository}}, {{.Tag}}, {{.Digest}}, {{.ID}}, {{.Created}}, {{.CreatedAt}}, {{.Size}}, {{json .}} (a row as one JSON object) and {{json .Field}} (prefixed with "table " for a header), or json; --json is --format json (podman's JSON list). The store keeps no intermediate images, so -a lists the same images.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    "<%= config.bin %> <%= command.id %> --format '{{.Repository}}:{{.Tag}}'",
    '<%= config.bin %> <%= command.id %> -q',
  ];

  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'all images (this store has no intermediate ones)' }),
    quiet: Flags.boolean({ char: 'q', description: 'print only image ids' }),
    digests: Flags.boolean({ description: 'show the DIGEST column' }),
    'no-trunc': Flags.boolean({ description: 'do not shorten image ids' }),
    format: Flags.string({ description: 'a Go template, or json', helpValue: 'TEMPLATE' }),
    json: Flags.boolean({ description: "print podman's JSON list" }),
    ...storageFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Images);
    const list = await images({ all: flags.all, ...storage(flags) });
    if (flags.json || flags.format === 'json') {
      this.log(JSON.stringify(list.map(asJson), null, 4));
      return;
    }
    if (flags.quiet) {
      const ids = list.map((i) => (flags['no-trunc'] ? i.id : hex(i.id).slice(0, 12)));
      for (const id of ids) this.log(id);
      return;
    }
    const now = Date.now();
    const rows = imageRows(list, (created) => (created === undefined ? '' : ago(created, now)), flags['no-trunc']);
    if (flags.format !== undefined) {
      for (const line of applyTemplate(flags.format, rows as unknown as Record<string, unknown>[], FIELDS)) this.log(line);
      return;
    }
    const header = ['REPOSITORY', 'TAG', ...(flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
    this.log(table(header, rows.map((r) => [r.Repository, r.Tag, ...(flags.digests ? [r.Digest] : []), r.ID, r.Created, r.Size])));
  }
}
