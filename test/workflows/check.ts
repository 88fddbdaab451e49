// node --import tsx test/workflows/check.ts [DIR] — reads the GitHub workflows in DIR
// (.github/workflows) as YAML and checks, against what GitHub's runners provide (facts.ts):
//   - every runs-on names a pinned image whose facts are recorded;
//   - every tier a job runs (npm test's tiers less the switched-off ones, or one tier's script)
//     gets what it needs from the runner and the steps before it, and a tier is switched off only
//     where it cannot run or another job runs it on the same runner;
//   - the user-namespace relaxation comes before any rootless work, and the rootless tier starts
//     as root;
//   - a release checks every package version against the tag before the first publish, publishes
//     the tarballs the packages jobs tested, skips what is already published, authenticates by
//     trusted publishing, and never has a queued run cancelled;
//   - every action runs on Node 24 at its current major;
//   - no cache action's post step (run as the runner user) meets files sudo left root-owned.
// Prints one line per assertion for run.sh: `ok<TAB>WHAT` or `not ok<TAB>WHAT<TAB>DETAIL...`.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { actionCapabilities, actions, aptCommands, cachedPaths, type Need, runners, tierNeeds } from './facts.js';
import { type Command, commandEnv } from './shell.js';
import { ancestors, expandJobs, type Job, type Leg, loadWorkflow, normalizePath, type Step } from './workflows.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = resolve(process.argv[2] ?? join(repo, '.github/workflows'));

// --- results ----------------------------------------------------------------------------------
const results = new Map<string, { ok: boolean; name: string; details: string[] }>();
/** One assertion; the same KEY from another leg or entry workflow keeps the first failure. */
function report(key: string, name: string, ok: boolean, details: string[] = []) {
  if (results.get(key)?.ok === false) return;
  results.set(key, { ok, name, details: [...new Set(details)] });
}

// --- the tiers, as test/run-all.sh lists them -------------------------------------------------
const tiers = execFileSync('bash', [join(repo, 'test/run-all.sh'), '--tiers'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .map((line) => {
    const [id = '', name = '', run = ''] = line.split('\t');
    const words = run.split(' ');
    return { id, name, script: words[0] === 'tap_tier' ? words[2] : undefined };
  });
for (const { id } of tiers) {
  report(`tier-data:${id}`, `test/workflows/facts.ts says what the ${id} tier of test/run-all.sh needs`, id in tierNeeds);
}

/** The tiers a command runs: npm test's (all, less the switched-off), or one tier's script. */
function tiersRun(argv: string[]): { suite: boolean; ids: string[] } | undefined {
  const [a0 = '', a1 = '', a2 = ''] = argv;
  const script = normalizePath(a0 === 'bash' || a0 === 'sh' ? a1 : a0);
  if ((a0 === 'npm' && (a1 === 'test' || a1 === 't' || (a1 === 'run' && a2 === 'test'))) || script === 'test/run-all.sh') {
    return { suite: true, ids: tiers.map((t) => t.id) };
  }
  const tier = tiers.find((t) => t.script !== undefined && t.script === script);
  return tier ? { suite: false, ids: [tier.id] } : undefined;
}

// --- one leg, step by step ------------------------------------------------------------------------
interface TierRun {
  job: Job;
  leg: Leg;
  step: Step;
  id: string;
  switchedOff?: string;
  missing: { need: Need; why: string }[];
  root: boolean;
}
interface LegScan {
  tierRuns: TierRun[];
  /** Index of the first step relaxing AppArmor's user-namespace restriction. */
  relaxedAt?: number;
  downloads: { step: number; name?: string; pattern?: string; path: string }[];
  uploads: { step: number; name: string; path: string }[];
  packs: { step: number; out: string }[];
}

const relaxes = (argv: string[]) => argv[0] === 'sysctl' && argv.includes('kernel.apparmor_restrict_unprivileged_userns=0');

function scanLeg(job: Job, leg: Leg): LegScan {
  const runner = runners[leg.label];
  const caps = new Set(Object.keys(runner?.facts.provides ?? {}));
  if (runner) caps.add(`arch:${runner.arch}`);
  const lacks = runner?.facts.lacks ?? {};
  const scan: LegScan = { tierRuns: [], downloads: [], uploads: [], packs: [] };
  for (const step of leg.steps) {
    const stepEnv = { CI: 'true', ...leg.env, ...step.env };
    if (step.action === 'actions/download-artifact') {
      scan.downloads.push({
        step: step.index,
        ...(step.with.name ? { name: step.with.name } : {}),
        ...(step.with.pattern ? { pattern: step.with.pattern } : {}),
        path: normalizePath(step.with.path ?? ''),
      });
    }
    if (step.action === 'actions/upload-artifact') {
      scan.uploads.push({ step: step.index, name: step.with.name ?? 'artifact', path: normalizePath(step.with.path ?? '') });
    }
    for (const cap of actionCapabilities[step.action ?? ''] ?? []) caps.add(cap);
    for (const cmd of step.commands) {
      const root = cmd.sudo || job.container;
      const env = commandEnv(cmd, stepEnv);
      const run = tiersRun(cmd.argv);
      for (const id of run?.ids ?? []) {
        const switchedOff = run?.suite ? env[`TSCONTAINER_SKIP_${id}`] || undefined : undefined;
        const has = (cap: string) =>
          cap === 'root'
            ? root
            : cap === 'artifacts:tarballs'
              ? scan.downloads.some((d) => d.path === normalizePath(env.DIST_TARBALLS ?? '-'))
              : caps.has(cap);
        const missing = (tierNeeds[id]?.(env, runner?.arch ?? '') ?? [])
          .filter((need) => !has(need.cap))
          .map((need) => ({
            need,
            why: need.cap === 'root' ? 'the command does not run through sudo' : (lacks[need.cap] ?? 'neither the runner nor an earlier step provides it'),
          }));
        scan.tierRuns.push({ job, leg, step, id, missing, root, ...(switchedOff ? { switchedOff } : {}) });
      }
      provide(cmd, caps, scan, step);
    }
  }
  return scan;
}

// What a command adds for the steps after it.
function provide(cmd: Command, caps: Set<string>, scan: LegScan, step: Step) {
  const [a0 = '', ...rest] = cmd.argv;
  if ((a0 === 'apt-get' || a0 === 'apt') && rest.includes('install')) {
    for (const pkg of rest.slice(rest.indexOf('install') + 1).flatMap((w) => w.split(/\s+/))) {
      if (pkg === '' || pkg.startsWith('-')) continue;
      caps.add(`apt:${pkg}`);
      for (const cap of aptCommands[pkg] ?? []) caps.add(cap);
    }
  } else if (relaxes(cmd.argv)) {
    caps.add('userns');
    scan.relaxedAt ??= step.index;
  } else if (a0 === 'chmod' && rest.some((w) => /(^|,)[ugo]*[oa][ugoa]*\+[rwX]*x/.test(w))) {
    // Others may now search the directories: the tier's users reach the checkout.
    caps.add('checkout-reachable');
  } else if (a0 === 'tar' && rest.some((w, i) => (w === '-C' && normalizePath(rest[i + 1] ?? '') === 'npm') || w === '-Cnpm')) {
    if (scan.downloads.some((d) => /linux-.*-gnu/.test(d.pattern ?? d.name ?? ''))) caps.add('artifacts:binaries');
  } else if (a0 === 'node' && normalizePath(rest[0] ?? '') === 'npm/pack-root.mjs' && rest[1] === '--with-platforms') {
    scan.packs.push({ step: step.index, out: normalizePath(rest[2] ?? '.') });
  }
}

// --- per workflow file: actions, runners ----------------------------------------------------
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
for (const file of files) {
  const { raw } = loadWorkflow(dir, file);
  const used: string[] = [];
  for (const job of Object.values(raw.jobs as Record<string, Record<string, unknown>>)) {
    for (const step of Array.isArray(job.steps) ? job.steps : []) {
      const uses = (step as Record<string, unknown>).uses;
      if (typeof uses === 'string' && !uses.startsWith('./') && !uses.startsWith('docker://')) used.push(uses);
    }
  }
  const wrong = [...new Set(used)].flatMap((uses) => {
    const [name = '', version = ''] = uses.split('@');
    const known = actions[name];
    if (!known) return [`${uses}: not in facts.ts's table of actions (add its runs.using per major, with the source)`];
    const runtime = known.runtimes[version];
    if (runtime === undefined) return [`${uses}: ${version} is not a major facts.ts knows (${Object.keys(known.runtimes).join(', ')})`];
    if (runtime === 'node20' || runtime === 'node16' || runtime === 'node12') return [`${uses} runs on ${runtime}; ${known.current} is current (${known.source})`];
    if (version !== known.current) return [`${uses} is not the current major ${known.current} (${known.source})`];
    return [];
  });
  report(`actions:${file}`, `${file}: every action runs on Node 24 (or is composite), at its current major`, wrong.length === 0, wrong);
}

// --- per entry workflow: jobs, tiers, rootless, caches, release -------------------------------------
const on = (file: string) => loadWorkflow(dir, file).raw.on;
const entries = files.filter((f) => {
  const triggers = on(f);
  return !(typeof triggers === 'object' && triggers !== null && Object.keys(triggers).every((k) => k === 'workflow_call'));
});

for (const entry of entries) {
  const jobs = expandJobs(dir, entry);
  const scans = new Map<Job, LegScan[]>(jobs.map((job) => [job, job.legs.map((leg) => scanLeg(job, leg))]));

  for (const job of jobs) {
    const labels = [...new Set(job.legs.map((l) => l.label))];
    const bad = labels.flatMap((label) => {
      const r = runners[label];
      if (!r) return [`${label}: no facts for this runner in test/workflows/facts.ts`];
      if (r.alias) return [`${label} moves to the next Ubuntu release; its facts are ${r.alias}'s today (${r.source}): name ${r.alias}`];
      return [];
    });
    report(`runs-on:${job.display}`, `${job.display}: runs on pinned images whose facts are recorded (${labels.join(', ')})`, bad.length === 0, bad);
  }

  // Tiers: each run (deduplicated over the Node legs of a matrix), then the switched-off ones.
  const allRuns = [...scans.values()].flat().flatMap((s) => s.tierRuns);
  for (const run of allRuns.filter((r) => !r.switchedOff)) {
    const where = `${run.job.display} on ${run.leg.label}`;
    report(
      `tier:${where}:${run.id}:${run.step.index}`,
      `${where}: the ${run.id} tier (step "${run.step.name}") gets what it needs from the runner and the steps before it`,
      run.missing.length === 0,
      run.missing.map((m) => `${m.need.cap}, needed because ${m.need.why}: ${m.why}`),
    );
  }
  for (const run of allRuns.filter((r) => r.switchedOff)) {
    const where = `${run.job.display} on ${run.leg.label}`;
    const label = runners[run.leg.label]?.alias ?? run.leg.label;
    const elsewhere = allRuns.find(
      (other) => other.job !== run.job && other.id === run.id && !other.switchedOff && other.missing.length === 0 && (runners[other.leg.label]?.alias ?? other.leg.label) === label,
    );
    const because = [
      ...(run.missing.length > 0 ? [`it cannot run here (no ${run.missing.map((m) => m.need.cap).join(', ')})`] : []),
      ...(elsewhere ? [`${elsewhere.job.display} runs it on ${label}`] : []),
    ];
    report(
      `off:${where}:${run.id}`,
      `${where}: the ${run.id} tier is switched off (TSCONTAINER_SKIP_${run.id}) only where it cannot run or another job runs it${because.length > 0 ? `: ${because.join('; ')}` : ''}`,
      because.length > 0,
      [`TSCONTAINER_SKIP_${run.id} is set, yet the runner and the steps before it provide all the tier needs, and no other job runs it on ${label}`],
    );
  }

  // Rootless work: after the user-namespace relaxation, as root.
  for (const job of jobs) {
    const legs = scans.get(job) ?? [];
    const rootless = legs.flatMap((s) => s.tierRuns.filter((r) => r.id === 'ROOTLESS' && !r.switchedOff).map((r) => ({ scan: s, run: r })));
    if (rootless.length === 0) continue;
    const early = rootless.filter(({ scan, run }) => scan.relaxedAt === undefined || scan.relaxedAt >= run.step.index);
    report(
      `relax:${job.display}`,
      `${job.display}: AppArmor's user-namespace restriction is relaxed (sysctl kernel.apparmor_restrict_unprivileged_userns=0) before any rootless work`,
      early.length === 0,
      early.map(({ scan, run }) =>
        scan.relaxedAt === undefined
          ? `step "${run.step.name}" runs the rootless tier and no step before it runs the sysctl`
          : `step "${run.step.name}" (#${run.step.index + 1}) runs the rootless tier before the sysctl (step #${scan.relaxedAt + 1})`,
      ),
    );
    const asUser = rootless.filter(({ run }) => !run.root);
    report(
      `rootless-root:${job.display}`,
      `${job.display}: the rootless tier starts as root (it creates its users)`,
      asUser.length === 0,
      asUser.map(({ run }) => `step "${run.step.name}" runs it without sudo`),
    );
  }

  // Cache post steps run as the runner user: whatever sudo wrote in a cached path goes back to it first.
  for (const job of jobs.filter((j) => !j.container)) {
    for (const leg of job.legs) {
      const cached = leg.steps.flatMap((s) => cachedPaths(s.action ?? '', s.with).map((p) => ({ path: normalizePath(p), step: s })));
      const sudoSteps = leg.steps.filter((s) => s.commands.some((c) => c.sudo));
      if (cached.length === 0 || sudoSteps.length === 0) continue;
      const lastSudo = Math.max(...sudoSteps.map((s) => s.index));
      const chownBack = leg.steps.find(
        (s) => s.index === lastSudo && /always\(\)/.test(s.if ?? '') && s.commands.some((c) => c.sudo && c.argv[0] === 'chown' && c.argv.includes('-R')),
      );
      const chowned = (chownBack?.commands ?? []).filter((c) => c.argv[0] === 'chown').flatMap((c) => c.argv.slice(1).filter((w) => !w.startsWith('-')).map(normalizePath));
      const uncovered = cached.filter(({ path }) => !chowned.some((c) => path === c || path.startsWith(`${c}/`)));
      report(
        `caches:${job.display}`,
        `${job.display}: the cache actions' post steps meet no file sudo left root-owned (a last, if: always() step chowns back ${[...new Set(cached.map((c) => c.path))].join(', ')})`,
        chownBack !== undefined && uncovered.length === 0,
        chownBack === undefined
          ? [`steps run sudo (last: "${leg.steps[lastSudo]?.name}") and ${[...new Set(cached.map((c) => `"${c.step.name}"`))].join(', ')} save caches as the runner user, with no if: always() sudo chown -R after the last sudo step`]
          : uncovered.map(({ path, step }) => `${path} (cached by "${step.name}") is not chowned back`),
      );
    }
  }

  // --- a release ------------------------------------------------------------------------------
  const triggers = on(entry);
  const isRelease = typeof triggers === 'object' && triggers !== null && 'push' in triggers && JSON.stringify(triggers).includes('"tags"');
  if (!isRelease) continue;
  const steps = (job: Job) => (job.legs[0]?.steps ?? []).map((step) => ({ job, step }));
  const all = jobs.flatMap(steps);
  const publishing = all.filter(({ step }) => step.commands.some((c) => isPublish(c.argv)));
  const first = publishing[0];
  report(`release-publishes:${entry}`, `${entry}: publishes to npm`, first !== undefined);
  if (!first) continue;
  const pub = first.job;
  const before = ancestors(jobs, pub.key);

  // 1. Every version checked against the tag before the first publish.
  const check = all.find(
    ({ job, step }) =>
      (before.has(job.key) || (job === pub && step.index < first.step.index)) &&
      step.commands.some((c) => c.argv[0] === 'node' && normalizePath(c.argv[1] ?? '') === 'npm/check-versions.mjs' && /GITHUB_REF_NAME|github\.ref_name/.test(c.argv[2] ?? '')),
  );
  report(
    `release-versions:${entry}`,
    `${entry}: every package version (package.json, npm/*/package.json) is checked against the tag before the first publish${check ? ` (${check.job.display}, step "${check.step.name}")` : ''}`,
    check !== undefined,
    ['no job the publishing job needs (nor an earlier step of it) runs node npm/check-versions.mjs "$GITHUB_REF_NAME"'],
  );

  // 2. The published tarballs are the tested ones; 3. a re-run skips what is published.
  const problems: string[] = [];
  const direct: string[] = [];
  for (const { job, step } of publishing) {
    const scan = scans.get(job)?.[0];
    for (const cmd of step.commands.filter((c) => isPublish(c.argv))) {
      if (cmd.argv[0] === 'npm') {
        direct.push(`step "${step.name}" runs npm publish ${cmd.argv.slice(2).join(' ')}`);
        problems.push(`step "${step.name}" publishes ${cmd.argv[2] ?? '.'}: what this job has, not a tarball the packages jobs tested`);
        continue;
      }
      const from = normalizePath(cmd.argv[2] ?? '');
      const download = scan?.downloads.find((d) => d.path === from && d.step < step.index && d.name !== undefined);
      if (!download?.name) {
        problems.push(`step "${step.name}" publishes ${from}, which no earlier actions/download-artifact (by name) fills`);
        continue;
      }
      const name = download.name;
      const producers = jobs.filter((j) => before.has(j.key) && (scans.get(j) ?? []).some((s) => s.uploads.some((u) => u.name === name)));
      const packed = producers.filter((j) =>
        (scans.get(j) ?? []).some((s) => s.uploads.some((u) => u.name === name && s.packs.some((p) => p.step < u.step && (u.path === p.out || u.path.startsWith(`${p.out}/`))))),
      );
      if (packed.length === 0) problems.push(`the artifact ${name} is not uploaded, by a job the publishing job needs, from what node npm/pack-root.mjs --with-platforms packed`);
      const tested = jobs.flatMap((j) =>
        before.has(j.key)
          ? (scans.get(j) ?? []).flatMap((s) =>
              s.tierRuns
                .filter((r) => r.id === 'PACKAGES' && !r.switchedOff && r.missing.length === 0)
                .filter((r) => s.downloads.some((d) => d.name === name && d.step < r.step.index && d.path === normalizePath(commandEnvOf(r).DIST_TARBALLS ?? '-')))
                .map((r) => runners[r.leg.label]?.arch ?? r.leg.label),
            )
          : [],
      );
      const untested = ['x86_64', 'aarch64'].filter((arch) => !tested.includes(arch));
      if (untested.length > 0) problems.push(`no job the publishing job needs installs and uses the ${name} tarballs (DIST_TARBALLS) on ${untested.join(' and ')}`);
    }
    const packsItself = (job.legs[0]?.steps ?? []).some((s) =>
      s.commands.some((c) => (c.argv[0] === 'npm' && c.argv[1] === 'pack') || c.argv.some((w) => /pack-root\.mjs|npm\/build\.sh/.test(w))),
    );
    if (packsItself) problems.push(`${job.display} builds or packs tarballs of its own`);
  }
  report(`release-tested:${entry}`, `${entry}: the published tarballs are the ones the packages jobs installed and used, on both architectures`, problems.length === 0, problems);
  report(
    `release-rerun:${entry}`,
    `${entry}: a re-run after a partial publish skips what is already published (every publish goes through npm/publish.mjs, which asks npm view first)`,
    direct.length === 0,
    direct,
  );

  // 4. Trusted publishing.
  const pubSteps = pub.legs[0]?.steps ?? [];
  const tokens = JSON.stringify([pub.legs[0]?.env, pubSteps.map((s) => [s.env, s.with, s.run])]).match(/secrets\.[A-Za-z_]+/g) ?? [];
  const node = pubSteps.find((s) => s.action === 'actions/setup-node')?.with['node-version'] ?? '';
  const [major = 0, minor = 0] = node.split('.').map(Number);
  const trusted = [
    ...(pub.permissions['id-token'] === 'write' ? [] : ['the publishing job lacks permissions: id-token: write']),
    ...(tokens.length === 0 ? [] : [`it passes ${[...new Set(tokens)].join(', ')}: trusted publishing needs no token`]),
    ...(major > 22 || (major === 22 && minor >= 14) ? [] : [`setup-node's node-version "${node}" may be older than Node 22.14.0, which trusted publishing needs`]),
    ...(direct.length === 0 ? [] : ['npm publish runs directly: nothing checks for npm >= 11.5.1 (npm/publish.mjs does)']),
  ];
  report(`release-oidc:${entry}`, `${entry}: publishes by npm trusted publishing (id-token: write, no token, Node >= 22.14.0, npm >= 11.5.1 checked)`, trusted.length === 0, trusted);

  // 5. A queued release is never cancelled.
  const concurrency = loadWorkflow(dir, entry).raw.concurrency;
  const group = typeof concurrency === 'string' ? concurrency : typeof concurrency === 'object' && concurrency !== null ? String((concurrency as Record<string, unknown>).group ?? '') : '';
  const cancels = typeof concurrency === 'object' && concurrency !== null && (concurrency as Record<string, unknown>)['cancel-in-progress'] === true;
  const queues = typeof concurrency === 'object' && concurrency !== null && (concurrency as Record<string, unknown>).queue === 'max';
  const perTag = /github\.ref(_name)?\b/.test(group);
  report(
    `release-queue:${entry}`,
    `${entry}: no queued release is cancelled (a concurrency group per tag, or queue: max, and no cancel-in-progress)`,
    concurrency === undefined || (!cancels && (perTag || queues)),
    cancels
      ? ['cancel-in-progress: true cancels a running release']
      : perTag || queues
        ? []
        : [`group "${group}" is shared by every tag: GitHub keeps one pending run per group and cancels it when a third run arrives (docs: "Any existing pending job or workflow in the same concurrency group ... will be canceled")`],
  );
}

function isPublish(argv: string[]): boolean {
  return (argv[0] === 'npm' && argv[1] === 'publish') || (argv[0] === 'node' && normalizePath(argv[1] ?? '') === 'npm/publish.mjs');
}

// The environment a tier run's command saw.
function commandEnvOf(run: TierRun): Record<string, string> {
  const cmd = run.step.commands.find((c) => tiersRun(c.argv)?.ids.includes(run.id));
  return cmd ? commandEnv(cmd, { CI: 'true', ...run.leg.env, ...run.step.env }) : {};
}

// npm test is test/run-all.sh.
const scripts = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).scripts ?? {};
report('npm-test', 'npm test runs test/run-all.sh (what the checks above read npm test as)', scripts.test === 'bash test/run-all.sh');

for (const { ok, name, details } of results.values()) {
  const clean = (s: string) => s.replace(/[\t\n]+/g, ' ');
  console.log([ok ? 'ok' : 'not ok', clean(name), ...details.map(clean)].join('\t'));
}
