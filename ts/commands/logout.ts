import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { logout } from '../api/images.js';
import { ImageCommand } from '../cli/images.js';

export default class Logout extends ImageCommand {
  static override summary = 'Log out of a registry.';

  static override description = 'Removes the credentials recorded for REGISTRY (podman\'s auth file, or --authfile) and prints "Removed login credentials for REGISTRY"; none recorded is an error.';

  static override examples = ['<%= config.bin %> <%= command.id %> registry.example.com'];

  static override args = {
    registry: Args.string({ description: 'the registry: HOST[:PORT]', required: true }),
  };

  static override flags = {
    authfile: Flags.string({ description: 'the credentials file', helpValue: 'FILE' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logout);
    await logout(args.registry, flags.authfile === undefined ? {} : { authFile: flags.authfile });
    this.log(`Removed login credentials for ${args.registry}`);
  }
}
