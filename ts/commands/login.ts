import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { InvalidOptionError } from '../api/errors.js';
import { login } from '../api/images.js';
import { ImageCommand, normalizeTlsVerify, registryAccess, registryFlags } from '../cli/images.js';

export default class Login extends ImageCommand {
  static override summary = 'Log in to a registry.';

  static override description = `Checks the credentials with the registry (its token or Basic challenge), then records them where podman does ($XDG_RUNTIME_DIR/containers/auth.json, or --authfile), mode 0600; prints "Login Succeeded!". The password from -p, --password-stdin, or asked on the terminal.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> -u alice registry.example.com',
    'echo "$TOKEN" | <%= config.bin %> <%= command.id %> -u alice --password-stdin --cert-dir ./certs 127.0.0.1:5000',
  ];

  static override args = {
    registry: Args.string({ description: 'the registry: HOST[:PORT]', required: true }),
  };

  static override flags = {
    username: Flags.string({ char: 'u', description: 'the user name' }),
    password: Flags.string({ char: 'p', description: 'the password (visible to other users in the process list: prefer --password-stdin)' }),
    'password-stdin': Flags.boolean({ description: 'read the password from standard input', exclusive: ['password'] }),
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Login, normalizeTlsVerify(this.argv));
    const username = flags.username ?? (await ask('Username: ', false));
    let password = flags.password;
    if (flags['password-stdin']) password = (await readAll()).replace(/\r?\n$/, '');
    password ??= await ask('Password: ', true);
    if (username === '') throw new InvalidOptionError('a user name is required (-u USER)');
    if (password === '') throw new InvalidOptionError('a password is required (-p, --password-stdin)');
    await login(args.registry, { username, password, ...registryAccess(flags) });
    this.log('Login Succeeded!');
  }
}

async function readAll(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

/** A line from the terminal (without echo for a password); refused when standard input is not one. */
function ask(prompt: string, secret: boolean): Promise<string> {
  if (process.stdin.isTTY !== true) {
    return Promise.reject(
      new InvalidOptionError(`cannot ask for the ${secret ? 'password' : 'user name'}: standard input is not a terminal (use ${secret ? '-p or --password-stdin' : '-u'})`),
    );
  }
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    const stdin = process.stdin;
    if (secret) stdin.setRawMode(true);
    let line = '';
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n' || c === '\u0004') {
          stdin.off('data', onData);
          if (secret) {
            stdin.setRawMode(false);
            process.stderr.write('\n');
          }
          stdin.pause();
          resolve(line);
          return;
        }
        if (c === '\u0003') process.exit(130);
        if (c === '\u007f') line = line.slice(0, -1);
        else line += c;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
