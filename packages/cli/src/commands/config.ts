import { resolveRolloutConfig } from '@agent-canary/controller';
import { loadRolloutDefinition } from '../config.js';
import { EXIT_CODE, type ExitCode } from '../exit-codes.js';
import { CliFailure, createOutput } from '../output.js';
import { type CommandContext, ENV, resolvePath } from './context.js';

/** Options of `config validate`. */
export interface ConfigValidateOptions {
  readonly config?: string;
  readonly json: boolean;
}

/** `config validate`: checks a rollout definition file and prints it with defaults applied. */
export async function configValidate(
  context: CommandContext,
  file: string | undefined,
  options: ConfigValidateOptions,
): Promise<ExitCode> {
  const output = createOutput(context.io, options.json);
  const path = file ?? options.config ?? context.io.env[ENV.config];
  if (!path) {
    throw new CliFailure('missing_config', `pass a file, --config <file> or set ${ENV.config}`, EXIT_CODE.usage);
  }
  const definition = await loadRolloutDefinition(resolvePath(context, path), context.io.env);
  // Already validated by the same resolver; this adds the controller's defaults for display.
  const rollout = resolveRolloutConfig(definition.rollout, context.io.env);
  const steps = rollout.steps
    .map((step) => `${step.percent}% (${Math.round(step.minDurationMillis / 60_000)}m, ${step.minCanaryRequests} req)`)
    .join(' -> ');
  output.result(
    { ok: true, definition, resolved: { rollout } },
    `${path}: valid\n  ${rollout.canaryRelease} vs ${rollout.stableRelease} on flag ${rollout.flagKey}\n` +
      `  steps ${steps}\n  routing ${definition.routing.provider}`,
  );
  return EXIT_CODE.ok;
}
