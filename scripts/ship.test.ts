import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { stageInputs } from "../src/actions/ship.ts";
import { repositoryRoot } from "../test/support/run-action.ts";

// The one-step action reads each stage's inputs through ship's own action.yml: every input of a single action must
// be declared by ship under the same name (or the renamed one) with the same default, or be fixed by ship, so the
// two ways of using the toolkit cannot drift apart.
interface Metadata {
  inputs: Record<string, { default?: string; required?: boolean }>;
}
const metadata = (folder: string) =>
  parse(readFileSync(join(repositoryRoot, folder, "action.yml"), "utf8")) as Metadata;
const ship = metadata(".");
const shipOnly = ["scan-image", "check-tags"];

describe("ship's inputs and the single actions' inputs", () => {
  for (const [stage, rule] of Object.entries(stageInputs)) {
    const { inputs } = metadata(`actions/${stage}`);
    const renamed: Record<string, string> = "renamed" in rule ? rule.renamed : {};
    const fixed: Record<string, string> = rule.fixed;
    it.each(Object.keys(inputs))(
      `${stage} input %s is declared by ship with the same default, or fixed`,
      (name) => {
        if (name in fixed) return expect(ship.inputs[renamed[name] ?? name]).toBeUndefined();
        const declared = ship.inputs[renamed[name] ?? name];
        expect(declared, `ship does not declare ${renamed[name] ?? name}`).toBeDefined();
        expect(declared?.default ?? "").toBe(inputs[name]?.default ?? "");
        // Ship may require more (environment feeds every stage) but never less than a stage does.
        if (inputs[name]?.required) expect(declared?.required).toBe(true);
      },
    );
    it(`${stage}: every fixed or renamed input exists in its action.yml`, () => {
      for (const name of [...Object.keys(fixed), ...Object.keys(renamed)])
        expect(inputs).toHaveProperty(name);
    });
  }

  it("ship declares nothing that no stage reads, besides its own switches", () => {
    const read = new Set(
      Object.entries(stageInputs).flatMap(([stage, rule]) => {
        const renamed: Record<string, string> = "renamed" in rule ? rule.renamed : {};
        return Object.keys(metadata(`actions/${stage}`).inputs)
          .filter((name) => !(name in rule.fixed))
          .map((name) => renamed[name] ?? name);
      }),
    );
    expect(Object.keys(ship.inputs).filter((name) => !read.has(name) && !shipOnly.includes(name))).toEqual(
      [],
    );
  });
});
