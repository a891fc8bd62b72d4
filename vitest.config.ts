import { defineConfig } from "vitest/config";

// One test run for the whole repository: the toolkit's unit tests, its end-to-end tests (bundled actions
// against real registries and the simulator), and the projects that prove it (reference app, infra).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "scripts/**/*.test.ts"],
          // GitHub's workflow parser imports its JSON schemas without import attributes, which Node refuses:
          // let Vite process it (scripts/workflows.test.ts).
          server: { deps: { inline: ["@actions/workflow-parser"] } },
        },
      },
      {
        test: {
          name: "sim",
          include: ["sim/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      "{infra,reference-app/*}/vitest.config.ts",
    ],
  },
});
