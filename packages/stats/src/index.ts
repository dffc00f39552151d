// --- sketches, counters, distributions, divergences, PRNG ---

// --- sequential tests (anytime-valid e-processes) ---

export {};
