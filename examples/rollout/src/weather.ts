/**
 * The weather scenario every framework example runs: two releases of a weather agent's
 * prompt, and the questions users ask. Only the framework around it changes per example.
 */

/** The stable release: the prompt that works. */
export const STABLE_RELEASE = 'weather@v1';
/** The regressed release: a prompt change that makes the model pick the wrong tool. */
export const CANARY_RELEASE = 'weather@v2';

/** System prompt of each release (a release = prompt + model configuration). */
export const WEATHER_PROMPTS: Readonly<Record<string, string>> = Object.freeze({
  [STABLE_RELEASE]: 'You are a weather bot. For any weather question, call get_weather with the city.',
  [CANARY_RELEASE]: 'You are a weather bot. Always research first: call web_search with the user question.',
});

const CITIES = ['Paris', 'Oslo', 'Lima', 'Atlantis', 'Tokyo', 'Cairo', 'Quito', 'Perth'] as const;
const KNOWN_CITIES: ReadonlySet<string> = new Set(['Paris', 'Oslo', 'Lima', 'Tokyo', 'Cairo', 'Quito', 'Perth']);

/** True when the `get_weather` tool knows the city (it fails for the others). */
export function isKnownCity(city: string): boolean {
  return KNOWN_CITIES.has(city);
}

/** The question a user asks; one city in eight is unknown, so even the stable release has tool errors. */
export function questionFor(userIndex: number): { readonly city: string; readonly text: string } {
  const city = CITIES[userIndex % CITIES.length] ?? 'Paris';
  return { city, text: `Weather in ${city}?` };
}
