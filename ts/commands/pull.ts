import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { ImageCommand, normalizeTlsVerify, registryFlags, storageFlags } from '../cli/images.js';
import { pullImage } from '../cli/pull-image.js';

export default class Pull extends ImageCommand {
  static override summary = 'Pull an image from a registry.';

  static override description = `Fetches the image REF names (docker.io/library/debian:latest for debian) into the store, verifying every blob's digest, and unpacks its layers once for every image that shares them. Prints Docker's lines: "Using default tag: latest" for a REF without one, "TAG: Pulling from REPOSITORY", each layer's progress (drawn in place on a terminal; otherwise one line per layer event), the Digest: and Status: lines and the full reference; with -q, only the image id. Registries are reached as registries.conf, certs.d and the auth file say (podman's files); --tls-verify=false allows plain HTTP and unverified TLS.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> debian:12',
    '<%= config.bin %> <%= command.id %> --tls-verify=false 127.0.0.1:5000/tests/busybox',
    '<%= config.bin %> <%= command.id %> --platform linux/arm64/v8 alpine',
  ];

  static override args = {
    ref: Args.string({ description: 'the image: NAME[:TAG], HOST[:PORT]/NAME[:TAG], NAME@sha256:...', required: true }),
  };

  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'print only the image id' }),
    platform: Flags.string({ description: 'the platform to pull from a multi-platform image', helpValue: 'OS/ARCH[/VARIANT]' }),
    ...registryFlags,
    ...storageFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull, normalizeTlsVerify(this.argv));
    await pullImage(args.ref, flags, (line) => this.log(line));
  }
}
