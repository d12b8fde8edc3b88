// A stand-in for kubectl against a cluster, for tests/deploy/deploy-script.test.ts: it keeps the
// cluster's objects in a JSON file (FAKE_KUBE_STATE), logs every call, and behaves as the API
// server does where the deploy order matters:
// - `kustomize` is the real kubectl's (REAL_KUBECTL);
// - `apply --selector` filters the file's objects by label, as kubectl does (`notin` matches an
//   object without the key);
// - a Job whose ServiceAccount, ConfigMaps or Secret do not exist gets no pod and never
//   finishes (the first-deploy hang); otherwise it ends as FAKE_JOB_OUTCOME says (Complete or
//   Failed);
// - a Job's pod template cannot change: applying another image over one fails.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const statePath = process.env.FAKE_KUBE_STATE;
const state = JSON.parse(readFileSync(statePath, 'utf8'));
const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));
const log = (line) => appendFileSync(`${statePath}.log`, `${line}\n`);

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const inline = args.find((a) => a.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
};
const namespace = option('-n');
const positional = args.filter(
  (a, i) => !a.startsWith('-') && !args[i - 1]?.match(/^-(n|f|o|l)$|^--(selector|timeout)$/),
);
const [verb, ...rest] = positional;
const key = (kind, name, ns) => `${ns ?? '-'}/${kind}/${name}`;
const fail = (message) => {
  process.stderr.write(`${message}\n`);
  process.exit(1);
};

/** A label selector as kubectl reads one: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`. */
function matches(selector, labels = {}) {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g).map((t) => t.trim());
  return terms.every((term) => {
    const set = term.match(/^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/);
    if (set) {
      const values = set[3].split(',').map((v) => v.trim());
      const has = set[1] in labels && values.includes(labels[set[1]]);
      return set[2] === 'in' ? has : !has;
    }
    const [k, op, v] = term.split(/(!=|==|=)/);
    if (op === undefined) return k in labels;
    return op === '!=' ? labels[k] !== v : labels[k] === v;
  });
}

function podCanStart(job, ns) {
  const pod = job.spec.template.spec;
  if (!state.objects[key('ServiceAccount', pod.serviceAccountName ?? 'default', ns)]) return false;
  for (const c of pod.containers) {
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef && !state.objects[key('ConfigMap', from.configMapRef.name, ns)])
        return false;
      if (from.secretRef && !state.objects[key('Secret', from.secretRef.name, ns)]) return false;
    }
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !state.objects[key('Secret', ref.name, ns)]) return false;
    }
  }
  return true;
}

log(args.join(' '));
if (verb === 'kustomize') {
  process.stdout.write(execFileSync(process.env.REAL_KUBECTL, args, { encoding: 'utf8' }));
} else if (verb === 'apply') {
  const selector = option('--selector') ?? option('-l');
  const objects = parseAllDocuments(readFileSync(option('-f'), 'utf8')).map((d) => d.toJS());
  for (const o of objects) {
    if (selector && !matches(selector, o.metadata.labels)) continue;
    const ns = o.kind === 'Namespace' ? undefined : o.metadata.namespace;
    if (ns && !state.objects[key('Namespace', ns)]) fail(`namespaces "${ns}" not found`);
    const id = key(o.kind, o.metadata.name, ns);
    const before = state.objects[id];
    if (o.kind === 'Job' && before) {
      const was = JSON.stringify(before.object.spec.template);
      if (was !== JSON.stringify(o.spec.template)) {
        fail(`The Job "${o.metadata.name}" is invalid: spec.template: field is immutable`);
      }
      log(`  unchanged ${o.kind}/${o.metadata.name}`);
      continue;
    }
    state.objects[id] = { object: o, created: state.clock++ };
    if (o.kind === 'Job') {
      state.objects[id].conditions = podCanStart(o, ns)
        ? [process.env.FAKE_JOB_OUTCOME ?? 'Complete']
        : [];
    }
    log(`  applied ${o.kind}/${o.metadata.name}`);
    process.stdout.write(`${o.kind.toLowerCase()}/${o.metadata.name} configured\n`);
  }
} else if (verb === 'get') {
  const [kind, name] = rest;
  const kinds = { secret: 'Secret', job: 'Job' };
  const found = state.objects[key(kinds[kind] ?? kind, name, namespace)];
  if (!found) {
    if (args.includes('--ignore-not-found')) process.exit(0);
    fail(`Error from server (NotFound): ${kind}s "${name}" not found`);
  }
  const path = option('-o');
  if (path?.includes('conditions')) process.stdout.write(found.conditions.join(' '));
  else if (path?.includes('image')) {
    process.stdout.write(found.object.spec.template.spec.containers[0].image);
  }
} else if (verb === 'delete') {
  const [kind, name] = rest;
  delete state.objects[key(kind === 'job' ? 'Job' : kind, name, namespace)];
  log(`  deleted ${kind}/${name}`);
} else if (verb === 'rollout') {
  const name = rest[1].replace(/^deploy\//, '');
  if (!state.objects[key('Deployment', name, namespace)]) fail(`deployments "${name}" not found`);
} else if (verb === 'logs' || verb === 'describe') {
  process.stdout.write('Error: migrations failed: connection refused\n');
} else {
  fail(`fake kubectl: ${args.join(' ')} is not supported`);
}
save();
