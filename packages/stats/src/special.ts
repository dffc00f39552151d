/**
 * Special functions for the sequential tests: log-gamma, log-beta and numerically
 * safe log-space sums. Plain `Math` only, so the gate needs no statistics library.
 */

// Numerical Recipes 3rd ed. (Press et al. 2007, §6.1) Lanczos approximation, g = 671/128:
// relative error below 1e-15 for x > 0, far better than the 1e-10 the tests require.
const LANCZOS_G = 5.2421875;
const LANCZOS_COEFFICIENTS = [
  57.15623566586292, -59.59796035547549, 14.136097974741746, -0.4919138160976202, 0.00003399464998481189,
  0.00004652362892704858, -0.00009837447530487956, 0.0001580887032249125, -0.00021026444172410488,
  0.00021743961811521265, -0.0001643181065367639, 0.00008441822398385275, -0.000026190838401581408,
  0.0000036899182659531625,
] as const;
const LANCZOS_SERIES_START = 0.9999999999999971;
const SQRT_TWO_PI = 2.5066282746310007;

/**
 * Natural log of the absolute value of the gamma function, ln|Γ(x)|.
 *
 * Lanczos approximation for x ≥ 0.5 and the reflection formula below; `Infinity` at the
 * poles (0, −1, −2, ...), `NaN` for `NaN`.
 *
 * @example
 * lgamma(5); // ln(24) = 3.1780538303479458
 */
export function lgamma(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (x <= 0 && Number.isInteger(x)) return Number.POSITIVE_INFINITY;
  if (x < 0.5) {
    // Γ(x)Γ(1−x) = π / sin(πx); the Lanczos series loses accuracy near and below 0.
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  }
  let y = x;
  const shifted = x + LANCZOS_G;
  const head = (x + 0.5) * Math.log(shifted) - shifted;
  let series = LANCZOS_SERIES_START;
  for (const coefficient of LANCZOS_COEFFICIENTS) {
    y += 1;
    series += coefficient / y;
  }
  return head + Math.log((SQRT_TWO_PI * series) / x);
}

/**
 * ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
 *
 * @example
 * logBeta(1, 1); // 0
 */
export function logBeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/**
 * Log of the multivariate beta function, ln B(a) = Σ ln Γ(a_j) − ln Γ(Σ a_j), the
 * normaliser of a Dirichlet(a). Every a_j must be > 0.
 */
export function logMultivariateBeta(a: readonly number[]): number {
  let sum = 0;
  let total = 0;
  for (const value of a) {
    sum += lgamma(value);
    total += value;
  }
  return sum - lgamma(total);
}

/**
 * ln Σ exp(x_i) without overflow. `-Infinity` for an empty list; `Infinity` if any
 * term is `Infinity`.
 */
export function logSumExp(values: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > max) max = value;
  if (max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY) return max;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - max);
  return max + Math.log(sum);
}

/**
 * ln((1/n) Σ exp(x_i)): the log of an equal-weight average of e-values given in log
 * space. `-Infinity` for an empty list.
 */
export function logMeanExp(values: readonly number[]): number {
  if (values.length === 0) return Number.NEGATIVE_INFINITY;
  return logSumExp(values) - Math.log(values.length);
}

/**
 * x·ln(y) with the convention 0·ln(0) = 0 (a count of zero contributes nothing to a
 * log-likelihood, even where the probability is zero).
 */
export function xlogy(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(y);
}

/**
 * x·ln(1 + y) with 0·ln(…) = 0, accurate for small y (uses `Math.log1p`).
 */
export function xlog1py(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log1p(y);
}
