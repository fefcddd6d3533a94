import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // One embedded PostgreSQL per test file is heavy on a 2-core machine: run files one at a time.
    fileParallelism: false,
    pool: "forks",
    setupFiles: ["packages/local/src/quiet-warnings.js"],
  },
});
