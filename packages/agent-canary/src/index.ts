/** The programmatic API of the `agent-canary` command, as `@agent-canary/cli` exports it. */
export * from '@agent-canary/cli';
