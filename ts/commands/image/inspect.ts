import * as Args from '@oclif/core/args';

import { inspectImage, type ImageInspect } from '../../api/images.js';
import { ImageCommand, storage, storageFlags } from '../../cli/images.js';

export default class ImageInspectCommand extends ImageCommand {
  static override summary = 'Show images as podman image inspect does.';

  static override description = `A JSON array with one object per image, in podman's shape: Id, Digest, RepoTags, RepoDigests, Created, Architecture, Os, Variant, Size, Config (User, WorkingDir, Env, Entrypoint, Cmd, ExposedPorts, Volumes, Labels, StopSignal), RootFS, History, GraphDriver. An image is named by reference, id or unique id prefix. The images found are printed even when another is not; then the exit status is 125. (The top-level inspect is for containers only.)`;

  static override examples = ['<%= config.bin %> <%= command.id %> debian:12'];

  static override args = {
    refs: Args.string({ description: 'images', required: true, multiple: true, ignoreStdin: true }),
  };

  static override flags = { ...storageFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImageInspectCommand);
    const found: ImageInspect[] = [];
    const failures: unknown[] = [];
    for (const ref of args.refs) {
      try {
        found.push(await inspectImage(ref, storage(flags)));
      } catch (error) {
        failures.push(error);
      }
    }
    this.log(JSON.stringify(found, null, 4));
    // podman prints what it found, then the first error.
    if (failures.length > 0) throw failures[0];
  }
}
