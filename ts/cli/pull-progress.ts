/**
 * A pull's progress as Docker prints it, for `pull`, `load` and `run IMAGE`: free of oclif,
 * so the fast start of `run` can draw a pull without loading it (test/unit/fast-start.test.ts).
 */
import type { ProgressEvent } from '../api/images.js';

/** The hex of a digest (`sha256:ab...` → `ab...`). */
export function hex(digest: string): string {
  const colon = digest.indexOf(':');
  return colon === -1 ? digest : digest.slice(colon + 1);
}

/** IMAGE ID: the first 12 hex digits. */
export function shortId(digest: string): string {
  return hex(digest).slice(0, 12);
}

/** Decimal units, as podman and Docker show sizes. */
export const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** A layer's id as Docker shows it in progress lines: 12 hex digits. */
function layerId(layer: string): string {
  return shortId(layer);
}

/** Bytes as Docker's progress shows them (go-units HumanSize, decimal, 4 significant digits): `12.3MB`. */
function progressSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${Number(size.toPrecision(4))}${DECIMAL[unit] ?? 'B'}`;
}

/** `ref` as Docker names it in its messages: with `:latest` when it has neither tag nor digest. */
export function withDefaultTag(ref: string): string {
  return /[:@][^/]*$/.test(ref) ? ref : `${ref}:latest`;
}

/**
 * Docker's line before an image's layers, for a full reference (`docker.io/library/debian:12`
 * → `12: Pulling from library/debian`; a digest in place of the tag when pinned); undefined
 * for a name without its registry (an archive's).
 */
export function pullingFrom(reference: string): string | undefined {
  let name = reference;
  let version: string | undefined;
  const at = reference.indexOf('@');
  if (at !== -1) {
    name = reference.slice(0, at);
    version = reference.slice(at + 1);
  }
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    version ??= name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const slash = name.indexOf('/');
  if (version === undefined || slash === -1) return undefined;
  return `${version}: Pulling from ${name.slice(slash + 1)}`;
}

/**
 * A pull's progress as Docker prints it. On a terminal, one line per layer redrawn in place
 * (`ab12cd34ef56: Downloading  12.3MB/45.6MB  5.2MB/s`); otherwise one line per event of
 * note (`Pulling fs layer`, `Already exists`, `Download complete`, `Pull complete`). With
 * `pulling`, each image's layers follow Docker's `TAG: Pulling from REPOSITORY` (a pull's;
 * not a load's).
 */
export class PullProgress {
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  readonly #pulling: boolean;
  readonly #layers = new Map<string, { line: string; phase: string; started: number; done: number }>();
  #drawn = 0;
  #image: string | undefined;

  constructor(write: (text: string) => void, tty: boolean, { pulling = false }: { pulling?: boolean } = {}) {
    this.#write = write;
    this.#tty = tty;
    this.#pulling = pulling;
  }

  readonly onProgress = (event: ProgressEvent): void => {
    if (event.image !== this.#image) {
      // Another image's layers: a block of lines of their own, below the last one's.
      this.#image = event.image;
      this.#layers.clear();
      this.#drawn = 0;
      const header = this.#pulling ? pullingFrom(event.image) : undefined;
      if (header !== undefined) this.#write(`${header}\n`);
    }
    const now = Date.now();
    const known = this.#layers.get(event.layer);
    const layer = known ?? { line: '', phase: '', started: now, done: 0 };
    if (event.phase === 'downloading' && layer.phase !== 'downloading') layer.started = now;
    const changed = layer.phase !== event.phase;
    layer.phase = event.phase;
    layer.done = event.done;
    layer.line = `${layerId(event.layer)}: ${this.#text(event, layer.started, now)}`;
    this.#layers.set(event.layer, layer);
    if (this.#tty) this.#redraw();
    else if (changed) {
      const plain = this.#plain(event);
      if (plain !== undefined) this.#write(`${layerId(event.layer)}: ${plain}\n`);
    }
  };

  #text(event: ProgressEvent, started: number, now: number): string {
    switch (event.phase) {
      case 'waiting':
        return 'Pulling fs layer';
      case 'downloading': {
        const seconds = (now - started) / 1000;
        const rate = seconds > 0.2 ? `  ${progressSize(event.done / seconds)}/s` : '';
        return `Downloading  ${progressSize(event.done)}/${progressSize(event.total)}${rate}`;
      }
      case 'extracting':
        return 'Extracting';
      case 'done':
        return 'Pull complete';
      case 'already-exists':
        return 'Already exists';
    }
  }

  #plain(event: ProgressEvent): string | undefined {
    switch (event.phase) {
      case 'waiting':
        return 'Pulling fs layer';
      case 'downloading':
        return undefined;
      case 'extracting':
        return 'Download complete';
      case 'done':
        return 'Pull complete';
      case 'already-exists':
        return 'Already exists';
    }
  }

  #redraw(): void {
    // Up to the first layer line, then each line cleared and written again.
    let out = this.#drawn > 0 ? `\u001B[${this.#drawn}A` : '';
    for (const { line } of this.#layers.values()) out += `\r\u001B[2K${line}\n`;
    this.#drawn = this.#layers.size;
    this.#write(out);
  }
}
