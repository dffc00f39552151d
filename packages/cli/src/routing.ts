import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@agent-canary/conventions';
import { EmbeddedRoutingAdapter } from '@agent-canary/routing';
import type { RoutingFactory } from './controller-store.js';
import { EXIT_CODE } from './exit-codes.js';
import { CliFailure } from './output.js';

/** Environment variable naming the embedded provider's routing state file (read by the routing package too). */
export const ROUTING_FILE_ENV = 'AGENT_CANARY_ROUTING_FILE';

/** Options of `cliRoutingFactory`. */
export interface CliRoutingOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory a relative `routing.options.path` resolves against. */
  readonly cwd: string;
}

/**
 * The routing adapters the CLI can write splits with. `embedded` writes the routing state
 * file that the agents' embedded OpenFeature provider reads (`routing.options.path`, else
 * `AGENT_CANARY_ROUTING_FILE`). Other providers live in packages the CLI does not depend
 * on yet, so they fail with a clear message.
 */
export function cliRoutingFactory(options: CliRoutingOptions): RoutingFactory {
  return (routing) => {
    if (routing.provider !== 'embedded') {
      throw new CliFailure(
        'routing_unavailable',
        `routing provider "${routing.provider}" is not available in the agent-canary CLI yet (only "embedded")`,
        EXIT_CODE.runtime,
      );
    }
    const configured = routing.options['path'] ?? options.env[ROUTING_FILE_ENV];
    // Without a file the split would live in this short-lived process only: no agent would see it.
    if (typeof configured !== 'string' || configured.length === 0) {
      throw new ConfigError({
        path: 'routing.options.path',
        expected: `the routing state file the agents read (or set ${ROUTING_FILE_ENV})`,
        received: configured,
      });
    }
    const path = isAbsolute(configured) ? configured : resolve(options.cwd, configured);
    // The adapter writes atomically into the file's directory; make sure it exists.
    mkdirSync(dirname(path), { recursive: true });
    return new EmbeddedRoutingAdapter({ path });
  };
}
