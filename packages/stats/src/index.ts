// --- sketches, counters, distributions, divergences, PRNG ---
export type { CategoricalDistributionOptions, CategoricalSnapshot, CategoryCounts } from './categorical.js';
export {
  CATEGORICAL_DEFAULTS,
  CATEGORICAL_SNAPSHOT_VERSION,
  CategoricalDistribution,
  countsOf,
  OTHER_CATEGORY,
} from './categorical.js';
export type { ChiSquareResult, PsiOptions, SketchDistances } from './divergence.js';
export {
  chiSquare,
  jensenShannon,
  ksDistance,
  PSI_DEFAULTS,
  populationStabilityIndex,
  sketchDistances,
  wasserstein1,
} from './divergence.js';
export type { QuantileSketchConfig, QuantileSketchOptions, SketchBucket, SketchSnapshot } from './sketch.js';
export { QUANTILE_SKETCH_DEFAULTS, QuantileSketch, SKETCH_SNAPSHOT_VERSION } from './sketch.js';

// prng

export type { Rng } from './prng.js';
export { createRng, hashString32, sfc32, splitmix32, zipfSampler } from './prng.js';

// --- sequential tests (anytime-valid e-processes) ---

export type { SplitAlphaOptions } from './sequential/alpha.js';
export { DEFAULT_ALPHA_WEIGHTS, SPLIT_ALPHA_DEFAULTS, splitAlpha } from './sequential/alpha.js';
export type {
  BaselineRateTestConfig,
  BaselineRateTestOptions,
  BaselineRateTestResult,
  BoundedMeanBounds,
  BoundedMeanTestOptions,
  BoundedMeanTestResult,
} from './sequential/baseline-rate.js';
export {
  BASELINE_RATE_TEST_DEFAULTS,
  baselineRateTest,
  bernoulliUpperBound,
  boundedMeanBounds,
  boundedMeanTest,
  resolveBaselineRateTestConfig,
} from './sequential/baseline-rate.js';
export type { AlignedBuckets, BucketCount, BucketCounts } from './sequential/buckets.js';
export { alignBucketCounts, bucketQuantile, midCdf } from './sequential/buckets.js';
export type { KsDriftTestConfig, KsDriftTestOptions, KsDriftTestResult } from './sequential/dkw.js';
export { dkwBand, KS_DRIFT_TEST_DEFAULTS, ksDriftTest, resolveKsDriftTestConfig } from './sequential/dkw.js';
export type { EValueDecision } from './sequential/e-value.js';
export { eValueDecision } from './sequential/e-value.js';
export type { StatsErrorCode } from './sequential/errors.js';
export { STATS_ERROR_CODE, StatsInputError } from './sequential/errors.js';
export type {
  LatencyCut,
  LatencyQuantile,
  LatencyReference,
  LatencyTailResult,
  LatencyTestConfig,
  LatencyTestOptions,
  LatencyTestResult,
} from './sequential/latency.js';
export {
  LATENCY_TEST_DEFAULTS,
  latencyLogEValue,
  latencyTest,
  prepareLatencyReference,
  resolveLatencyTestConfig,
} from './sequential/latency.js';
export type {
  CategoryEpoch,
  MixCategoryResult,
  MixLogEValueOptions,
  MixTestConfig,
  MixTestOptions,
  MixTestResult,
} from './sequential/mix.js';
export { MIX_TEST_DEFAULTS, mixLogEValue, mixTest, resolveMixTestConfig } from './sequential/mix.js';
export type {
  DriftCategoryResult,
  MultinomialDriftTestConfig,
  MultinomialDriftTestOptions,
  MultinomialDriftTestResult,
} from './sequential/multinomial-drift.js';
export {
  MULTINOMIAL_DRIFT_TEST_DEFAULTS,
  multinomialDriftTest,
  normalMixtureHalfWidth,
  resolveMultinomialDriftTestConfig,
} from './sequential/multinomial-drift.js';
export type {
  BucketEpoch,
  RankScoreTestConfig,
  RankScoreTestOptions,
  RankScoreTestResult,
  RankSide,
} from './sequential/rank-score.js';
export {
  RANK_SCORE_TEST_DEFAULTS,
  RANK_SIDE,
  rankScoreLogEValue,
  rankScores,
  rankScoreTest,
  resolveRankScoreTestConfig,
} from './sequential/rank-score.js';
export type { RateEpoch, RateTestConfig, RateTestOptions, RateTestResult } from './sequential/rate.js';
export {
  canaryEventProbability,
  RATE_TEST_DEFAULTS,
  rateLogEValue,
  rateTest,
  resolveRateTestConfig,
} from './sequential/rate.js';
export type {
  BernoulliSprtOptions,
  GaussianSprtOptions,
  LabelSprtOptions,
  SprtBoundaries,
  SprtDecision,
  SprtResult,
  WaldExpectedSampleSizeOptions,
} from './sequential/sprt.js';
export {
  bernoulliSprt,
  gaussianSprt,
  klBernoulli,
  labelSprt,
  SPRT_DECISION,
  waldBoundaries,
  waldExpectedSampleSize,
} from './sequential/sprt.js';
export type {
  SampleRatioCohort,
  SampleRatioEpoch,
  SampleRatioTestConfig,
  SampleRatioTestOptions,
  SampleRatioTestResult,
} from './sequential/srm.js';
export {
  resolveSampleRatioTestConfig,
  SAMPLE_RATIO_TEST_DEFAULTS,
  sampleRatioLogEValue,
  sampleRatioTest,
} from './sequential/srm.js';
export { lgamma, logBeta, logMeanExp, logMultivariateBeta, logSumExp, xlog1py, xlogy } from './special.js';
