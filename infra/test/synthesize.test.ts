import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { CloudAssembly } from "aws-cdk-lib/cx-api";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { STACK_KEYS, type SynthesisResult, synthesize, templateFileName } from "../lib/synthesize.ts";

let outdir: string;
let result: SynthesisResult;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), "valmetal-synth-"));
  result = synthesize({ outdir });
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe("offline synthesis", () => {
  test("writes one template per stack with stable names into the chosen folder", () => {
    expect(result.outdir).toBe(outdir);
    expect(Object.keys(result.templates)).toEqual(["shared", "dev", "staging", "prod"]);
    for (const key of STACK_KEYS) {
      expect(result.templates[key]).toBe(join(outdir, `valmetal-${key}.template.json`));
      expect(basename(result.templates[key])).toBe(templateFileName(key));
      expect(existsSync(result.templates[key])).toBe(true);
      const template = JSON.parse(readFileSync(result.templates[key], "utf8"));
      expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
    }
  });

  test("writes an index of the templates and the acknowledged findings next to them", () => {
    expect(JSON.parse(readFileSync(join(outdir, "templates.json"), "utf8"))).toEqual({
      shared: "valmetal-shared.template.json",
      dev: "valmetal-dev.template.json",
      staging: "valmetal-staging.template.json",
      prod: "valmetal-prod.template.json",
    });
    const acknowledged = JSON.parse(readFileSync(join(outdir, "nag-acknowledgements.json"), "utf8"));
    expect(acknowledged).toEqual(result.acknowledgements);
  });

  test("needs no lookup: no missing context, no lookup role, every stack bound to its account and region", () => {
    const assembly = new CloudAssembly(outdir);
    expect(assembly.manifest.missing ?? []).toEqual([]);
    const accounts = Object.fromEntries(assembly.stacks.map((stack) => [stack.stackName, stack.environment]));
    expect(accounts).toEqual({
      "valmetal-shared": expect.objectContaining({ account: "111111111111", region: "ca-central-1" }),
      "valmetal-dev": expect.objectContaining({ account: "222222222222", region: "ca-central-1" }),
      "valmetal-staging": expect.objectContaining({ account: "333333333333", region: "ca-central-1" }),
      "valmetal-prod": expect.objectContaining({ account: "444444444444", region: "ca-central-1" }),
    });
    for (const key of STACK_KEYS) {
      const text = readFileSync(result.templates[key], "utf8");
      expect(text).not.toMatch(/dummy-value|DUMMY|cdk-bootstrap\/.*\/version/);
    }
  });

  test("templates use only Ref, Fn::GetAtt and Fn::Join among the intrinsic functions", () => {
    for (const key of STACK_KEYS) {
      const functions = new Set(readFileSync(result.templates[key], "utf8").match(/"Fn::[A-Za-z]+"/g) ?? []);
      for (const name of functions) expect(['"Fn::GetAtt"', '"Fn::Join"']).toContain(name);
    }
  });

  test("the committed cdk.json runs the same app and pins the context", () => {
    const cdkJson = JSON.parse(readFileSync(new URL("../cdk.json", import.meta.url), "utf8"));
    expect(cdkJson.app).toBe("node bin/app.ts");
    expect(cdkJson.context["@aws-cdk/core:enablePartitionLiterals"]).toBe(true);
  });
});
