/** What every e-process in this package reports at a look. */
export interface EValueDecision {
  /** The e-value E; `Infinity` if it overflows. */
  readonly eValue: number;
  /** ln E, finite where E overflows. */
  readonly logEValue: number;
  /** Rejection boundary 1/alpha. */
  readonly boundary: number;
  readonly alpha: number;
  /** E ≥ 1/alpha: reject the null hypothesis (Ville's inequality bounds this by alpha at any look). */
  readonly reject: boolean;
  /** min(1, 1/E) at this look; the anytime-valid p-value is its running minimum over looks. */
  readonly pValue: number;
}

/** The decision fields of an e-process from its log e-value. */
export function eValueDecision(logEValue: number, alpha: number): EValueDecision {
  const boundary = 1 / alpha;
  return {
    eValue: Math.exp(logEValue),
    logEValue,
    boundary,
    alpha,
    reject: logEValue >= Math.log(boundary),
    pValue: Math.min(1, Math.exp(-logEValue)),
  };
}
