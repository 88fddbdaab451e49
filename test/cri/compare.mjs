// compare.mjs REFERENCE.json CANDIDATE.json — reads two Ginkgo JSON reports of the same critest
// run against two runtime handlers (runc, then tscontainer-runtime) and prints one line per
// spec, tab-separated, for run.sh to turn into TAP:
//   both      NAME                  passed with both
//   regressed NAME  REASON          passed with the reference, not with the candidate
//   gained    NAME  REASON          failed with the reference (REASON: its failure), passed with the candidate
//   neither   NAME  REASON          failed with both (REASON: the reference's failure)
//   skipped   NAME  REASON          skipped by critest with the reference (REASON: why); specs
//                                   left out by a focus are not listed
// A spec missing from either report counts as not passed there ("did not run").
import { readFileSync } from 'node:fs';

const [referencePath, candidatePath] = process.argv.slice(2);

/** name → { state, reason } for every `It` of a report. */
function specs(path) {
  const suites = JSON.parse(readFileSync(path, 'utf8'));
  const out = new Map();
  for (const suite of suites) {
    for (const spec of suite.SpecReports ?? []) {
      if (spec.LeafNodeType !== 'It') continue;
      const name = [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].join(' ');
      const failure = spec.Failure?.Message ?? '';
      out.set(name, { state: spec.State, reason: oneLine(failure) });
    }
  }
  return out;
}

function oneLine(text) {
  const line = text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  return line.length > 240 ? `${line.slice(0, 240)}…` : line;
}

const reference = specs(referencePath);
const candidate = specs(candidatePath);
const names = [...new Set([...reference.keys(), ...candidate.keys()])].sort();
const missing = { state: 'did not run', reason: 'did not run' };
for (const name of names) {
  const ref = reference.get(name) ?? missing;
  const cand = candidate.get(name) ?? missing;
  let kind;
  let reason = '';
  if (ref.state === 'skipped') {
    // Without a reason: left out by the focus, not skipped by critest.
    if (!ref.reason) continue;
    kind = 'skipped';
    reason = ref.reason;
  } else if (ref.state === 'passed') {
    kind = cand.state === 'passed' ? 'both' : 'regressed';
    reason = kind === 'regressed' ? `${cand.state}: ${cand.reason}` : '';
  } else {
    kind = cand.state === 'passed' ? 'gained' : 'neither';
    reason = `${ref.state}: ${ref.reason}`;
  }
  console.log([kind, name, reason].join('\t'));
}
