import { InputError } from "../errors.ts";
import type { RuleOverride } from "./model.ts";
import { ruleDefinitions } from "./rules.ts";

const actions: RuleOverride["action"][] = ["disable", "error", "warning", "notice"];
const line = /^(?<rule>[A-Za-z]+\d+)\s*=\s*(?<action>[A-Za-z]+)\s*(?::\s*(?<reason>.*))?$/;
const example = "TAG009=warning: metrics are collected elsewhere";

/**
 * Parses the `rules` input: one override a line, `<rule id>=<disable|error|warning|notice>: <reason>`. Blank lines
 * and lines starting with `#` are skipped. The reason is required: the report shows it next to the rule.
 */
export function parseRuleOverrides(text: string): RuleOverride[] {
  const known = new Set(ruleDefinitions.map((rule) => rule.id));
  const overrides: RuleOverride[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const entry = raw.trim();
    if (entry === "" || entry.startsWith("#")) continue;
    const match = line.exec(entry);
    if (!match?.groups) {
      throw new InputError(
        `rules line '${entry}' is not <rule id>=<action>: <reason>; write e.g. '${example}'`,
      );
    }
    const ruleId = (match.groups.rule as string).toUpperCase();
    const action = (match.groups.action as string).toLowerCase();
    const reason = match.groups.reason?.trim() ?? "";
    if (!known.has(ruleId)) {
      throw new InputError(
        `rules line '${entry}' names unknown rule ${ruleId}; use one of TAG001 to TAG${String(ruleDefinitions.length).padStart(3, "0")}`,
      );
    }
    if (!(actions as string[]).includes(action)) {
      throw new InputError(
        `rules line '${entry}' has unknown action '${match.groups.action}'; use one of ${actions.join(", ")}`,
      );
    }
    if (!reason) {
      throw new InputError(
        `rules line '${entry}' gives no reason; add one after a colon, e.g. '${ruleId}=${action}: <why>'`,
      );
    }
    if (overrides.some((override) => override.ruleId === ruleId)) {
      throw new InputError(`rules input overrides ${ruleId} twice; keep one line per rule`);
    }
    overrides.push({ ruleId, action: action as RuleOverride["action"], reason });
  }
  return overrides;
}
