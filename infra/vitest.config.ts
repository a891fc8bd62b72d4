import { defineProject } from "vitest/config";

// Synthesizing four stacks takes seconds: each test file synthesizes once (beforeAll), never per test.
export default defineProject({
  test: {
    name: "infra",
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
