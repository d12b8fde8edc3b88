/**
 * The import direction, checked by `npm run lint` (dependency-cruiser):
 *
 *   entry points (src/server.ts, src/worker.ts, src/cli/)
 *     -> app factories (src/app/)
 *       -> HTTP layer (plugins/, routes/) and configuration (src/config/)
 *         -> features (src/<feature>/), over the shared modules (src/shared/, src/messaging/,
 *            src/hub/, src/stores/, src/telemetry/)
 *           -> the database engine (db/)
 *
 * dependency-cruiser rather than Biome's noRestrictedImports: it resolves every import (type-only
 * ones included) to the file it names, so a rule is a path, whatever the relative spelling of the
 * import (`../../plugins/x.js`); a pattern on the import's text can be dodged by another spelling.
 * It parses TypeScript with swc (TypeScript 7's compiler has no JavaScript API to lend it).
 */
const ENTRY = '^src/(server|worker)\\.ts$|^src/cli/';
const APP = '^src/app/';
const HTTP = '^(plugins|routes)/';
const CONFIG = '^src/config/';
const FEATURES = '^src/(affiliation|auth|documents|idempotency|retention)/';
const SHARED = '^src/(shared|messaging|hub|stores|telemetry)/';
const DOMAIN = `${FEATURES}|${SHARED}`;

module.exports = {
  forbidden: [
    {
      name: 'db-is-the-bottom',
      comment: 'db/ is the engine: tables and queries live with their features, not the reverse.',
      severity: 'error',
      from: { path: '^db/' },
      to: { path: '^(src|plugins|routes|tools|tests)/' },
    },
    {
      name: 'domain-knows-no-http',
      comment:
        'Feature and shared modules are plain TypeScript: no plugins, routes, app, entry points, ' +
        'or configuration (plugins map config to plain options).',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: `${HTTP}|${APP}|${ENTRY}|${CONFIG}` },
    },
    {
      name: 'shared-knows-no-feature',
      comment: 'Shared modules (messaging, hub, stores, shared) serve every feature and know none.',
      severity: 'error',
      from: { path: SHARED },
      to: { path: FEATURES },
    },
    {
      name: 'http-below-the-app',
      severity: 'error',
      from: { path: HTTP },
      to: { path: `${APP}|${ENTRY}` },
    },
    {
      name: 'config-at-the-edge',
      comment:
        'Configuration is read by entry points, the app and plugins, and reads none of them.',
      severity: 'error',
      from: { path: CONFIG },
      to: { path: `${HTTP}|${APP}|${ENTRY}` },
    },
    {
      name: 'app-below-entries',
      severity: 'error',
      from: { path: APP },
      to: { path: ENTRY },
    },
    {
      name: 'product-carries-no-tools',
      comment: 'What ships (src, plugins, routes, db) imports nothing from tools/ or tests/.',
      severity: 'error',
      from: { path: '^(src|plugins|routes|db)/' },
      to: { path: '^(tools|tests)/' },
    },
    {
      name: 'tools-need-no-tests',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^tests/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^(src|plugins|routes|db)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'k6 scripts import modules built into the k6 binary.',
      severity: 'error',
      from: { pathNot: '^tests/load/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|coverage)/' },
  },
};
