import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tools/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file builds its own apps; two cores, so keep the fan-out modest.
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'plugins/**/*.ts', 'routes/**/*.ts', 'db/**/*.ts'],
      // Entry points run as child processes in tests/e2e (server, CLIs): exercised, not measured.
      exclude: [
        'src/server.ts',
        'src/worker.ts',
        'src/app/main-*.ts',
        'src/cli/**',
        '**/*.table.ts',
      ],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 85 },
    },
  },
});
