// What test/workflows/check.ts knows about the world outside this repository, each fact with
// where it was read: what GitHub's runners provide, what each tier of test/run-all.sh needs,
// which Node.js each action's major version runs on, and which paths the cache actions save.
//
// A capability is a string: `cmd:NAME` (a command on PATH), `helper:NAME` (a helper podman
// finds in its helper_binaries_dir), `apt:PACKAGE` (an installed Ubuntu/Debian package),
// `arch:x86_64`, `cgroup-v1` (cgroup v1 controller hierarchies), `sudo` (passwordless),
// `userns` (unprivileged processes may create user namespaces), `checkout-reachable` (other
// users can reach files in the checkout), `root` (the command runs as root),
// `artifacts:binaries` / `artifacts:tarballs` (the build job's artifacts unpacked into npm/*/,
// or the packages workflow's tarballs), `file:PATH`.

/** Where the runner facts were read (the snapshot of actions/runner-images they come from). */
const images = 'actions/runner-images@749514466b4f (2026-08-21)';
const podmanStatic = 'mgoltzsche/podman-static Dockerfile (v5.8.4)';

export interface Runner {
  /** What the image provides: capability → source. */
  provides: Record<string, string>;
  /** What it lacks, where a tier may need it: capability → why, with the source. */
  lacks: Record<string, string>;
}

const ubuntu2404: Runner = {
  provides: {
    sudo: 'docs.github.com, GitHub-hosted runners reference, "Administrative privileges": "The Linux and macOS virtual machines both run using passwordless sudo."',
    'cmd:podman': `${images} images/ubuntu/scripts/build/install-container-tools.sh: Ubuntu 24.04's apt podman is too old, so the podman-static ${'v5.8.4'} bundle (podman, crun, runc, conmon, netavark, aardvark-dns, pasta) is unpacked into /usr/local; /usr/local/bin/podman`,
    'helper:conmon': `${podmanStatic}: COPY conmon /usr/local/lib/podman/conmon, which is in podman's default helper_binaries_dir (containers/common pkg/config/config_linux.go: /usr/local/libexec/podman, /usr/local/lib/podman, /usr/libexec/podman, /usr/lib/podman); not on PATH`,
    'helper:netavark': `${podmanStatic}: COPY netavark /usr/local/lib/podman/netavark`,
    'cmd:runc': `${podmanStatic}: runc v1.4.3 at /usr/local/bin/runc, ahead on PATH of /usr/bin/runc from Docker's containerd.io package`,
    'cmd:crun': `${podmanStatic}: crun 1.28 at /usr/local/bin/crun (install-container-tools.sh pins podman to it in /etc/containers/containers.conf.d/00-fix-runtime.conf)`,
    'cmd:pasta': `${podmanStatic}: passt's pasta at /usr/local/bin/pasta`,
    'apt:uidmap': `${images} install-container-tools.sh: apt-get install buildah skopeo uidmap`,
    'cmd:newuidmap': `${images} install-container-tools.sh: apt-get install uidmap`,
    'cmd:newgidmap': `${images} install-container-tools.sh: apt-get install uidmap`,
    'cmd:dockerd': `${images} install-docker.sh with toolset-2404.json docker.components: docker-ce 28.0.4 from download.docker.com, docker.service enabled and started`,
    'cmd:docker': `${images} install-docker.sh: docker-ce-cli 28.0.4`,
    'cmd:containerd': `${images} toolset-2404.json docker.components: containerd.io "latest" (the version at image build; the image's Readme does not list it), running as the system containerd`,
    'cmd:ctr': `${images} toolset-2404.json: Docker's containerd.io package ships containerd, ctr, containerd-shim-runc-v2 and runc`,
    'cmd:containerd-shim-runc-v2': `${images} toolset-2404.json: Docker's containerd.io package`,
    'cmd:iptables': 'docker/docker-ce-packaging deb/common/control: docker-ce Depends: containerd.io, docker-ce-cli, iptables, nftables',
    'cmd:cargo': `${images} install-rust.sh: rustup's stable toolchain in /etc/skel/.cargo, $HOME/.cargo/bin on PATH (Ubuntu2404-Readme.md: Rust 1.97.1)`,
    'cmd:cc': `${images} toolset-2404.json apt.vital_packages: gcc, g++, make`,
    'cmd:c++': `${images} toolset-2404.json apt.vital_packages: g++`,
    'cmd:make': `${images} toolset-2404.json apt.vital_packages: make`,
    'cmd:pkg-config': `${images} toolset-2404.json apt.common_packages: pkg-config`,
    'cmd:file': `${images} toolset-2404.json apt.cmd_packages: file`,
    'cmd:readelf': `${images} toolset-2404.json apt.cmd_packages: binutils`,
    'cmd:shellcheck': `${images} toolset-2404.json apt.cmd_packages: shellcheck (Ubuntu2404-Readme.md: 0.9.0-1)`,
    'cmd:ip': `${images} toolset-2404.json apt.common_packages: iproute2`,
    'cmd:go': `${images} Configure-Toolset.ps1 links the toolcache's default Go (toolset-2404.json: 1.24.*) into /usr/bin`,
    'cmd:node': `${images} install-nodejs.sh: Node.js ${'22'} (toolset node.default) in /usr/local/bin; setup-node puts the job's own first on PATH`,
    'cmd:tar': 'Ubuntu 24.04: tar is Essential (toolset-2404.json also lists it)',
    'cmd:timeout': 'Ubuntu 24.04: coreutils is Essential',
    'cmd:perl': 'Ubuntu 24.04: perl-base is Essential',
    'cmd:script': 'Ubuntu 24.04: bsdutils is Essential',
    'cmd:setpriv': 'Ubuntu 24.04: util-linux is Essential',
    'cmd:useradd': 'Ubuntu 24.04: passwd is Required',
    'cmd:ss': `${images} toolset-2404.json apt.common_packages: iproute2`,
    'cmd:ipcmk': 'Ubuntu 24.04: util-linux is Essential',
    'cmd:ipcrm': 'Ubuntu 24.04: util-linux is Essential',
    'cmd:skopeo': `${images} install-container-tools.sh: apt-get install buildah skopeo uidmap`,
    'cmd:openssl': 'Ubuntu 24.04: openssl is Priority important, on every runner image (toolset-2404.json apt.common_packages lists it too)',
    'cmd:curl': `${images} toolset-2404.json apt.cmd_packages: curl`,
  },
  lacks: {
    'cgroup-v1': 'Ubuntu 24.04 boots systemd 255 (Ubuntu2404-Readme.md: 255.4-1ubuntu8.17) with the unified hierarchy only: pure cgroup v2 (the test job checks cgroup2fs)',
    userns: `${images} install-container-tools.sh: "Ubuntu >= 23.10 restricts unprivileged user namespaces via AppArmor (kernel.apparmor_restrict_unprivileged_userns=1)"`,
    'checkout-reachable': 'the runner user\'s home is made when GitHub provisions the VM, outside the image sources: its mode is not documented',
    'apt:busybox-static': `${images} toolset-2404.json: not in any apt list`,
    'cmd:docker-registry': `${images} toolset-2404.json: docker-registry (Ubuntu universe) is not in any apt list`,
    'cmd:mmdebstrap': `${images} toolset-2404.json: mmdebstrap is not in any apt list`,
    'cmd:umoci': `${images} toolset-2404.json: umoci is not in any apt list`,
    'apt:containernetworking-plugins': `${images} toolset-2404.json: not in any apt list (podman-static carries its own netavark, not the CNI plugins)`,
    'apt:debian-archive-keyring': `${images} toolset-2404.json: not in any apt list`,
    'cmd:htpasswd': `${images} toolset-2404.json: apache2-utils is not in any apt list`,
    'cmd:zstd': `${images} toolset-2404.json: zstd is not in any apt list`,
    'cmd:setfattr': `${images} toolset-2404.json: attr is not in any apt list`,
    'cmd:getfattr': `${images} toolset-2404.json: attr is not in any apt list`,
    'cmd:setcap': `${images} toolset-2404.json: libcap2-bin is not in any apt list`,
    'apt:libseccomp-dev': `${images} toolset-2404.json: not in any apt list`,
    'cmd:slirp4netns': `${images} toolset-2404.json: not in any apt list`,
    'cmd:qemu-aarch64': `${images} toolset-2404.json: qemu-user is not in any apt list`,
    'apt:libc6-arm64-cross': `${images} toolset-2404.json: not in any apt list`,
    'apt:rustc-web': 'rustc-web and libstd-rust-web-dev are Debian 12 packages; Ubuntu 24.04 has none',
    'apt:libstd-rust-web-dev:arm64': 'rustc-web and libstd-rust-web-dev are Debian 12 packages; Ubuntu 24.04 has none',
    'file:../shared/tools/cgroupv2-vm/run': 'the VM tool lives beside the repository on the project\'s own machines, not in it: a GitHub checkout has no ../shared',
    'artifacts:binaries': 'made by the build job; a job has them only after actions/download-artifact',
    'artifacts:tarballs': 'made by the packages workflow\'s pack job; a job has them only after actions/download-artifact',
  },
};

const readme = `${images} README.md, the table of available images`;

/** Runner labels → facts. ubuntu-latest is an alias that moves to the next LTS (README.md: "the -latest label is used for the latest OS image version that is GA"), so it gets 24.04's facts and a failure of its own. */
export const runners: Record<string, { arch: 'x86_64' | 'aarch64'; facts: Runner; source: string; alias?: string }> = {
  'ubuntu-24.04': { arch: 'x86_64', facts: ubuntu2404, source: `${readme}: "Ubuntu 24.04 | x64 | ubuntu-latest or ubuntu-24.04"` },
  'ubuntu-24.04-arm': { arch: 'aarch64', facts: ubuntu2404, source: `${readme}: "Ubuntu 24.04 Arm64 | arm64 | ubuntu-24.04-arm"; toolset-2404-arm64.json has the same docker, apt and toolcache lists for arm64` },
  'ubuntu-latest': { arch: 'x86_64', facts: ubuntu2404, source: `${readme}: "ubuntu-latest or ubuntu-24.04"`, alias: 'ubuntu-24.04' },
};

/** What installing an apt package or using an action adds, beyond `apt:PACKAGE`. */
export const aptCommands: Record<string, string[]> = {
  'busybox-static': ['cmd:busybox'],
  slirp4netns: ['cmd:slirp4netns'],
  passt: ['cmd:pasta'],
  uidmap: ['cmd:newuidmap', 'cmd:newgidmap'],
  'qemu-user': ['cmd:qemu-aarch64'],
  file: ['cmd:file'],
  binutils: ['cmd:readelf'],
  shellcheck: ['cmd:shellcheck'],
  'pkg-config': ['cmd:pkg-config'],
  'build-essential': ['cmd:cc', 'cmd:c++', 'cmd:make'],
  'docker-registry': ['cmd:docker-registry'],
  mmdebstrap: ['cmd:mmdebstrap'],
  umoci: ['cmd:umoci'],
  'apache2-utils': ['cmd:htpasswd'],
  zstd: ['cmd:zstd'],
  attr: ['cmd:setfattr', 'cmd:getfattr'],
  'libcap2-bin': ['cmd:setcap'],
};
export const actionCapabilities: Record<string, string[]> = {
  'actions/setup-node': ['cmd:node'],
  'actions/setup-go': ['cmd:go'],
  'dtolnay/rust-toolchain': ['cmd:cargo'],
};

export interface Need {
  cap: string;
  why: string;
}
type Env = Record<string, string>;

const fixture = { cap: 'apt:busybox-static', why: 'test/fixtures/build-rootfs.sh builds the containers\' rootfs from the static busybox' };
const root = (why: string): Need => ({ cap: 'root', why });

/** What each tier (by the ID test/run-all.sh --tiers prints) needs, given the environment it runs in. */
export const tierNeeds: Record<string, (env: Env, arch: string) => Need[]> = {
  CARGO: () => [
    { cap: 'cmd:cargo', why: 'cargo test --workspace' },
    { cap: 'apt:libseccomp-dev', why: 'the runtime links libseccomp.a (libseccomp-sys)' },
    { cap: 'cmd:pkg-config', why: 'libseccomp-sys finds libseccomp' },
    { cap: 'cmd:cc', why: 'build scripts compile C' },
  ],
  TYPECHECK: () => [{ cap: 'cmd:node', why: 'tsc' }],
  AVA: () => [
    root('its integration tests create containers, cgroups and mounts'),
    { cap: 'cmd:node', why: 'ava' },
    fixture,
    { cap: 'cmd:script', why: 'terminal tests run on a pty through script(1)' },
    { cap: 'cmd:setfattr', why: 'test/runtime/overlay-root.test.ts marks an opaque directory of its hand-made layers' },
  ],
  CONFORMANCE: () => [
    root('runtime-tools runs containers'),
    { cap: 'cmd:go', why: 'it builds opencontainers/runtime-tools' },
    { cap: 'cmd:make', why: 'runtime-tools\' Makefile' },
    {
      cap: 'cgroup-v1',
      why: 'runtime-tools\' cgroup checks read cgroup v1 only (cgroups/cgroups.go FindCgroup: "cgroupv2 is not supported yet"), and expected-failures.txt describes the hybrid Debian 12 host',
    },
  ],
  MANAGERS: () => [
    root('it starts private daemons'),
    fixture,
    ...['podman', 'containerd', 'ctr', 'containerd-shim-runc-v2', 'dockerd', 'docker', 'runc', 'iptables', 'perl', 'script', 'ip', 'tar', 'timeout'].map(
      (c) => ({ cap: `cmd:${c}`, why: 'test/managers/run.sh\'s prerequisites' }),
    ),
    { cap: 'helper:conmon', why: 'podman runs containers through conmon (the tier asks podman info where it is)' },
    { cap: 'helper:netavark', why: 'podman\'s network backend (looked for in podman\'s helper directories)' },
  ],
  ROOTLESS: () => [
    root('it creates its users (test/rootless/run.sh refuses anything but root)'),
    { cap: 'userns', why: 'its users run containers in user namespaces of their own' },
    { cap: 'checkout-reachable', why: 'its users run the CLI and the runtime from the checkout, in place' },
    fixture,
    ...['setpriv', 'newuidmap', 'newgidmap', 'useradd', 'script', 'node', 'setfattr'].map((c) => ({ cap: `cmd:${c}`, why: 'test/rootless/run.sh\'s prerequisites' })),
  ],
  IMAGES: () => [
    root('it builds images with files of other owners and device nodes'),
    fixture,
    ...['docker-registry', 'skopeo', 'podman', 'runc', 'mmdebstrap', 'openssl', 'htpasswd', 'curl', 'zstd', 'setfattr', 'getfattr', 'setcap', 'node'].map(
      (c) => ({ cap: `cmd:${c}`, why: 'test/images/check.sh\'s prerequisites' }),
    ),
    { cap: 'apt:debian-archive-keyring', why: 'mmdebstrap verifies Debian bookworm\'s Release file with it' },
  ],
  CRI: () => [
    root('it runs a private containerd and containers'),
    fixture,
    { cap: 'cmd:go', why: 'it builds critest from the Go module proxy' },
    ...['containerd', 'containerd-shim-runc-v2', 'runc', 'docker-registry', 'skopeo', 'umoci', 'cc', 'perl', 'node', 'ip', 'iptables', 'ss', 'timeout', 'file', 'ipcmk', 'ipcrm'].map(
      (c) => ({ cap: `cmd:${c}`, why: 'test/cri/run.sh\'s prerequisites' }),
    ),
    { cap: 'apt:containernetworking-plugins', why: 'pods get a bridge network from the CNI plugins in /usr/lib/cni' },
  ],
  CGROUP_V2: () => [{ cap: 'file:../shared/tools/cgroupv2-vm/run', why: 'the tier boots the cgroupv2-vm tool beside the repository' }],
  SYSTEMD: () => [{ cap: 'file:../shared/tools/cgroupv2-vm/run', why: 'the tier boots the cgroupv2-vm tool beside the repository, with systemd as PID 1' }],
  FUZZ: () => [
    { cap: 'cmd:cargo', why: 'it builds the fuzz target' },
    { cap: 'cmd:c++', why: 'libfuzzer-sys compiles libFuzzer' },
  ],
  PACKAGES: (env, arch) => {
    const common: Need[] = [
      root('it runs containers through the installed packages'),
      { cap: 'cmd:go', why: 'it builds actionlint' },
      { cap: 'cmd:shellcheck', why: 'actionlint checks the run: blocks with it' },
      { cap: 'cmd:file', why: 'the ELF checks' },
      { cap: 'cmd:readelf', why: 'the glibc floor and NEEDED checks' },
    ];
    const qemu: Need[] =
      arch === 'x86_64'
        ? [
            { cap: 'cmd:qemu-aarch64', why: 'on x86_64 it runs the arm64 runtime under qemu-user' },
            { cap: 'apt:libc6-arm64-cross', why: 'and resolves the arm64 addon\'s libraries with the aarch64 loader' },
          ]
        : [];
    if (env.DIST_TARBALLS) return [...common, ...qemu, { cap: 'artifacts:tarballs', why: 'DIST_TARBALLS: it installs the packed tarballs' }];
    if (env.DIST_PREBUILT === '1') return [...common, ...qemu, { cap: 'artifacts:binaries', why: 'DIST_PREBUILT=1: it checks npm/*/ as they are' }];
    return [
      ...common,
      ...qemu,
      { cap: 'arch:x86_64', why: 'without DIST_PREBUILT it builds both targets, with napi-rs\'s glibc 2.17 toolchains, which run on x86_64 only' },
      { cap: 'apt:rustc-web', why: 'the arm64 build takes the aarch64 standard library from Debian\'s rustc-web' },
      { cap: 'apt:libstd-rust-web-dev:arm64', why: 'the aarch64 standard library' },
    ];
  },
  WORKFLOWS: () => [{ cap: 'cmd:node', why: 'test/workflows/check.ts' }],
};

/**
 * Actions: owner/name → the Node.js each major version runs on (`runs.using` of action.yml at
 * that major's tag, or `composite`) and the current major, as read in each repository's
 * snapshot on the date given.
 */
export const actions: Record<string, { current: string; runtimes: Record<string, string>; source: string }> = {
  'actions/checkout': { current: 'v7', runtimes: { v4: 'node20', v5: 'node24', v6: 'node24', v7: 'node24' }, source: 'actions/checkout@f548e57 (2026-07-20): tags v7.0.1 (v7), action.yml runs.using at v4..v7' },
  'actions/setup-node': { current: 'v7', runtimes: { v4: 'node20', v5: 'node24', v6: 'node24', v7: 'node24' }, source: 'actions/setup-node@ae0d4ed (2026-08-18): tags v7.0.0 (v7), action.yml runs.using; README: v5 moved to node24' },
  'actions/setup-go': { current: 'v7', runtimes: { v5: 'node20', v6: 'node24', v7: 'node24' }, source: 'actions/setup-go@fba3fb4 (2026-08-19): tags v7.0.0 (v7); README: v6 upgraded node20 to node24' },
  'actions/cache': { current: 'v5', runtimes: { v4: 'node20', v5: 'node24' }, source: 'actions/cache@27d5ce7 (2026-04-13): tags v5.0.5 (v5); README: v5 runs on Node.js 24' },
  'actions/upload-artifact': { current: 'v7', runtimes: { v4: 'node20', v5: 'node20', v6: 'node24', v7: 'node24' }, source: 'actions/upload-artifact@bbbca2d (2026-02-25): tags v7.0.0 (v7); README: v6 runs on Node.js 24, v5 by default still on Node.js 20' },
  'actions/download-artifact': { current: 'v8', runtimes: { v4: 'node20', v5: 'node20', v6: 'node20', v7: 'node24', v8: 'node24' }, source: 'actions/download-artifact@484a0b5 (2026-03-12): tags v8.0.1 (v8), action.yml runs.using at v6..v8' },
  'Swatinem/rust-cache': { current: 'v2', runtimes: { v2: 'node24' }, source: 'Swatinem/rust-cache@6323deb (2026-08-06): v2 (v2.9.2) action.yml runs.using node24' },
  'dtolnay/rust-toolchain': { current: 'stable', runtimes: { stable: 'composite' }, source: 'dtolnay/rust-toolchain@3c5f7ea (2026-03-27): action.yml runs.using composite (its steps are shell)' },
};

/** Paths a cache action saves in its post step (as the runner user): action → paths for its inputs. */
export function cachedPaths(action: string, inputs: Record<string, string>): string[] {
  switch (action) {
    case 'actions/setup-node':
      // setup-node caches only with `cache:` (or package.json's packageManager naming npm: none here).
      return inputs.cache === 'npm' ? ['~/.npm'] : [];
    case 'actions/setup-go':
      return inputs.cache === 'false' ? [] : ['~/go/pkg/mod', '~/.cache/go-build'];
    case 'actions/cache':
      return (inputs.path ?? '').split('\n').map((p) => p.trim()).filter((p) => p !== '');
    case 'Swatinem/rust-cache':
      // README: "~/.cargo (installed binaries, the cargo registry, cache, and git dependencies)" and "./target".
      return ['~/.cargo', 'target'];
    default:
      return [];
  }
}
