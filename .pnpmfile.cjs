/**
 * Hooks pnpm runs in this workspace. `beforePacking` shapes the package.json that `pnpm pack`
 * and `pnpm publish` put in a tarball; the files in the repository stay as they are.
 */
const SOURCE_CONDITION = '@agent-canary/source';

/**
 * Inside the workspace, the `@agent-canary/source` export condition points at `src/*.ts` so
 * tests, tsx and the type checker run on sources without a build. `src` is not published:
 * a published manifest keeps only the conditions that point at `dist`.
 */
function withoutSourceCondition(exports) {
  if (exports === null || typeof exports !== 'object' || Array.isArray(exports)) return exports;
  const kept = {};
  for (const [key, value] of Object.entries(exports)) {
    if (key !== SOURCE_CONDITION) kept[key] = withoutSourceCondition(value);
  }
  return kept;
}

module.exports = {
  hooks: {
    beforePacking(manifest) {
      if (manifest.exports !== undefined) manifest.exports = withoutSourceCondition(manifest.exports);
      return manifest;
    },
  },
};
