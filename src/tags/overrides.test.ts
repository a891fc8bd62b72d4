import { describe, expect, it } from "vitest";
import { InputError } from "../errors.ts";
import { parseRuleOverrides } from "./overrides.ts";

describe("the rules input", () => {
  it("reads one override a line, with its reason, skipping blank lines and comments", () => {
    const text = [
      "TAG009=warning: we use enhanced observability elsewhere",
      "",
      "# the legacy account predates long ARNs",
      "  tag016 = DISABLE : legacy account  ",
      "TAG017=notice: rolling services use the circuit breaker",
    ].join("\n");
    expect(parseRuleOverrides(text)).toEqual([
      { ruleId: "TAG009", action: "warning", reason: "we use enhanced observability elsewhere" },
      { ruleId: "TAG016", action: "disable", reason: "legacy account" },
      { ruleId: "TAG017", action: "notice", reason: "rolling services use the circuit breaker" },
    ]);
  });

  it("is empty when the input is", () => {
    expect(parseRuleOverrides("")).toEqual([]);
    expect(parseRuleOverrides("\r\n  \n")).toEqual([]);
  });

  it("keeps colons inside the reason", () => {
    expect(parseRuleOverrides("TAG014=warning: see ticket OPS-12: registry migration")).toEqual([
      { ruleId: "TAG014", action: "warning", reason: "see ticket OPS-12: registry migration" },
    ]);
  });

  it.each([
    [
      "TAG019=disable: nope",
      "rules line 'TAG019=disable: nope' names unknown rule TAG019; use one of TAG001 to TAG018",
    ],
    ["ECS12=disable: nope", "names unknown rule ECS12"],
    [
      "TAG009=ignore: nope",
      "rules line 'TAG009=ignore: nope' has unknown action 'ignore'; use one of disable, error, warning, notice",
    ],
    [
      "TAG009=warning",
      "rules line 'TAG009=warning' gives no reason; add one after a colon, e.g. 'TAG009=warning: <why>'",
    ],
    ["TAG009=warning:   ", "gives no reason"],
    ["TAG009 warning: because", "rules line 'TAG009 warning: because' is not <rule id>=<action>: <reason>"],
    ["TAG009=warning: a\nTAG009=disable: b", "rules input overrides TAG009 twice; keep one line per rule"],
  ])("rejects %j", (text, message) => {
    expect(() => parseRuleOverrides(text)).toThrow(InputError);
    expect(() => parseRuleOverrides(text)).toThrow(message);
  });
});
