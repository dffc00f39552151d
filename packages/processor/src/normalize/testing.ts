export type { FixtureReplayOptions } from './fixture-spans.js';
export { FIXTURE_SPANS_DIR, fixturePath, fixtureRunNames, loadFixtureSpans } from './fixture-spans.js';
