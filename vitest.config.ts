import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@agent-canary/source'] },
  ssr: { resolve: { conditions: ['@agent-canary/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    setupFiles: ['./test/setup/no-console.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
