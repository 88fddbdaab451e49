/**
 * What the image commands share: their flags (the store, how registries are reached), and
 * how images are shown as podman shows them — short ids, decimal sizes (`4.26 MB`), Go
 * templates for `--format` (the pull's progress, as Docker draws it, is pull-progress.ts).
 */
import * as Flags from '@oclif/core/flags';

import type { ImageSummary } from '../api/images.js';
import { InvalidOptionError } from '../api/errors.js';
import { TscontainerCommand } from './command.js';
import { DECIMAL, hex, shortId } from './pull-progress.js';

export { hex, PullProgress, pullingFrom, shortId } from './pull-progress.js';
export { normalizeTlsVerify, registryAccess, storage } from './registry-options.js';

/** An image command: every failure is one line and exit 125 (podman's), rmi of an image in use 2. */
export abstract class ImageCommand extends TscontainerCommand {
  protected override readonly failureExitCode: number = 125;
}

export const storageFlags = {
  'storage-root': Flags.string({
    description: 'the image store (default: $TSCONTAINER_STORAGE, /var/lib/tscontainer for root, $XDG_DATA_HOME/tscontainer)',
    env: 'TSCONTAINER_STORAGE',
    helpValue: 'DIR',
  }),
};

export const registryFlags = {
  'tls-verify': Flags.boolean({
    description: 'verify TLS and refuse plain HTTP (--tls-verify=false: allow both for every registry)',
    allowNo: true,
  }),
  'cert-dir': Flags.string({ description: 'the only directory of CA (*.crt) and client certificates', helpValue: 'DIR' }),
  authfile: Flags.string({ description: 'the credentials file (default podman\'s, $XDG_RUNTIME_DIR/containers/auth.json)', helpValue: 'FILE' }),
};

/** Bytes with a decimal unit and three significant digits, as podman shows sizes: `4.26 MB`. */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${Number(size.toPrecision(3))} ${DECIMAL[unit] ?? 'B'}`;
}

/** `REPOSITORY` and `TAG` of a full name (`host:5000/a/b:tag`, `name@sha256:...`). */
export function splitName(name: string): { repository: string; tag: string } {
  const at = name.indexOf('@');
  if (at !== -1) return { repository: name.slice(0, at), tag: '<none>' };
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repository: name, tag: '<none>' };
}

/** One row per name of an image (one `<none>` row for an image without one), as podman lists them. */
export interface ImageRow {
  Repository: string;
  Tag: string;
  Digest: string;
  ID: string;
  Created: string;
  CreatedAt: string;
  Size: string;
  image: ImageSummary;
}

export function imageRows(list: readonly ImageSummary[], created: (time: string | undefined) => string, noTrunc: boolean): ImageRow[] {
  return list.flatMap((image) => {
    const names = image.repoTags.length > 0 ? image.repoTags : ['<none>:<none>'];
    return names.map((name) => {
      const { repository, tag } = name === '<none>:<none>' ? { repository: '<none>', tag: '<none>' } : splitName(name);
      return {
        Repository: repository,
        Tag: tag,
        Digest: image.digest,
        ID: noTrunc ? image.id : shortId(image.id),
        Created: created(image.created),
        CreatedAt: image.created ?? '',
        Size: humanSize(image.size),
        image,
      };
    });
  });
}

/** One action of a template: a field's value, or `json` of a field or of the whole row (`.`). */
type Action = { field: string; json: boolean };

/**
 * A Go template of the common form (`{{.Repository}}:{{.Tag}}`, `table {{.ID}}\t{{.Size}}`,
 * `{{json .}}`, `{{json .Size}}`) applied to `rows`: each `{{.Field}}` replaced by that field,
 * `{{json .}}` by the row's fields as one JSON object, `\t` and `\n` as written in a shell.
 * Other template syntax is refused in one sentence.
 */
export function applyTemplate(template: string, rows: readonly Record<string, unknown>[], fields: readonly string[]): string[] {
  let body = template;
  const table = /^table\s+/.exec(body);
  if (table !== null) body = body.slice(table[0].length);
  body = body.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  const parts: (string | Action)[] = [];
  const re = /\{\{\s*(.*?)\s*\}\}/g;
  let last = 0;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    parts.push(body.slice(last, m.index));
    const action = /^(json\s+)?\.([A-Za-z]*)$/.exec(m[1] ?? '');
    const field = action?.[2] ?? '';
    const json = action?.[1] !== undefined;
    if (action === null || (field === '' ? !json : !fields.includes(field))) {
      const known = [...fields.map((f) => `{{.${f}}}`), '{{json .}}'].join(', ');
      throw new InvalidOptionError(`invalid --format ${JSON.stringify(template)}: ${JSON.stringify(`{{${m[1] ?? ''}}}`)} is not one of ${known}`);
    }
    parts.push({ field, json });
    last = m.index + m[0].length;
  }
  parts.push(body.slice(last));
  const render = (value: (action: Action) => string) => parts.map((p) => (typeof p === 'string' ? p : value(p))).join('');
  const whole = (row: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, row[f] ?? '']));
  const lines = rows.map((row) =>
    render(({ field, json }) => {
      if (!json) return String(row[field] ?? '');
      return JSON.stringify(field === '' ? whole(row) : (row[field] ?? ''));
    }),
  );
  if (table === null) return lines;
  const header = render(({ field }) => field.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase());
  return alignTabs([header, ...lines]);
}

/** Tab-separated cells aligned in columns (Go's tabwriter with padding 3). */
function alignTabs(lines: readonly string[]): string[] {
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd());
}

