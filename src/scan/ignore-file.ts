import { parse as parseYaml } from "yaml";
import { InputError } from "../errors.ts";
import type { SecretFinding } from "./gitleaks-report.ts";
import type { SastFinding } from "./semgrep-report.ts";
import type { Vulnerability } from "./vulnerabilities.ts";

/**
 * Accepted findings, each with a reason and an expiry date:
 *
 *   vulnerabilities: [{id, package?, reason, expires}]
 *   sast:            [{rule, path?, reason, expires}]
 *   secrets:         [{fingerprint, reason, expires}] or [{rule, path, line?, reason, expires}]
 *
 * `expires` is a day (YYYY-MM-DD, UTC): the entry ignores through that day and stops ignoring after it.
 */
export interface IgnoreEntry {
  section: IgnoreSection;
  id?: string;
  package?: string;
  rule?: string;
  path?: string;
  line?: number;
  fingerprint?: string;
  reason: string;
  expires: string;
}
export type IgnoreSection = "vulnerabilities" | "sast" | "secrets";
const sections: IgnoreSection[] = ["vulnerabilities", "sast", "secrets"];

export interface IgnoreFile {
  entries: IgnoreEntry[];
}

const keys: Record<IgnoreSection, string[]> = {
  vulnerabilities: ["id", "package"],
  sast: ["rule", "path"],
  secrets: ["fingerprint", "rule", "path", "line"],
};

export function parseIgnoreFile(text: string, file: string): IgnoreFile {
  let document: unknown;
  try {
    document = parseYaml(text); // YAML 1.2 is a superset of JSON: both formats read here.
  } catch (error) {
    throw new InputError(`ignore-file ${file} is not valid YAML or JSON: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) return { entries: [] };
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new InputError(`ignore-file ${file} must be a map with sections ${sections.join(", ")}`);
  }
  const entries: IgnoreEntry[] = [];
  for (const [section, list] of Object.entries(document as Record<string, unknown>)) {
    if (!sections.includes(section as IgnoreSection)) {
      throw new InputError(
        `ignore-file ${file} has an unknown section '${section}'; use ${sections.join(", ")}`,
      );
    }
    if (!Array.isArray(list))
      throw new InputError(`ignore-file ${file}: ${section} must be a list of entries`);
    list.forEach((raw, index) => {
      entries.push(parseEntry(raw, section as IgnoreSection, `ignore-file ${file}: ${section}[${index}]`));
    });
  }
  return { entries };
}

function parseEntry(raw: unknown, section: IgnoreSection, where: string): IgnoreEntry {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new InputError(`${where} must be a map`);
  const item = raw as Record<string, unknown>;
  const allowed = [...keys[section], "reason", "expires"];
  const unknown = Object.keys(item).filter((key) => !allowed.includes(key));
  if (unknown.length)
    throw new InputError(`${where} has unknown key(s) ${unknown.join(", ")}; use ${allowed.join(", ")}`);
  const text = (key: string) =>
    item[key] === undefined || item[key] === null ? undefined : String(item[key]).trim();
  const reason = text("reason");
  if (!reason) throw new InputError(`${where} has no reason; say why the finding is accepted (reason: …)`);
  const expiresValue =
    item.expires instanceof Date ? item.expires.toISOString().slice(0, 10) : text("expires");
  if (!expiresValue || !/^\d{4}-\d{2}-\d{2}$/.test(expiresValue) || Number.isNaN(Date.parse(expiresValue))) {
    throw new InputError(
      `${where} has expires '${expiresValue ?? ""}'; give the day it stops ignoring as YYYY-MM-DD`,
    );
  }
  const entry: IgnoreEntry = { section, reason, expires: expiresValue };
  if (section === "vulnerabilities") {
    entry.id = text("id");
    entry.package = text("package");
    if (!entry.id) throw new InputError(`${where} has no id; name the vulnerability (id: CVE-…)`);
  } else if (section === "sast") {
    entry.rule = text("rule");
    entry.path = text("path");
    if (!entry.rule) throw new InputError(`${where} has no rule; name the semgrep rule id (rule: …)`);
  } else {
    entry.fingerprint = text("fingerprint");
    entry.rule = text("rule");
    entry.path = text("path");
    if (item.line !== undefined) entry.line = Number(item.line);
    if (!entry.fingerprint && !(entry.rule && entry.path)) {
      throw new InputError(`${where} needs a fingerprint, or a rule and a path`);
    }
  }
  return entry;
}

/** Expired once the day named by `expires` is over (UTC). */
export function isExpired(entry: IgnoreEntry, now: Date): boolean {
  return now.getTime() >= Date.parse(`${entry.expires}T00:00:00Z`) + 86_400_000;
}

export function describeEntry(entry: IgnoreEntry): string {
  const what =
    entry.section === "vulnerabilities"
      ? `${entry.id}${entry.package ? ` in ${entry.package}` : ""}`
      : entry.section === "sast"
        ? `${entry.rule}${entry.path ? ` in ${entry.path}` : ""}`
        : (entry.fingerprint ?? `${entry.rule} in ${entry.path}`);
  return `${entry.section} ${what}`;
}

const pathMatches = (pattern: string | undefined, path: string) =>
  !pattern || path === pattern || path.startsWith(pattern.endsWith("/") ? pattern : `${pattern}/`);

export const entryMatchers = {
  vulnerabilities: (entry: IgnoreEntry, finding: Vulnerability) =>
    entry.id === finding.id && (!entry.package || entry.package === finding.package),
  sast: (entry: IgnoreEntry, finding: SastFinding) =>
    entry.rule === finding.rule && pathMatches(entry.path, finding.path),
  secrets: (entry: IgnoreEntry, finding: SecretFinding) =>
    entry.fingerprint
      ? entry.fingerprint === finding.fingerprint
      : entry.rule === finding.rule &&
        entry.path === finding.file &&
        (entry.line === undefined || entry.line === finding.line),
};

export interface Ignored<T> {
  finding: T;
  entry: IgnoreEntry;
}

export interface IgnoreOutcome<T> {
  kept: T[];
  ignored: Array<Ignored<T>>;
  /** Findings an expired entry would have ignored: they count again. */
  expired: Array<Ignored<T>>;
}

export function applyIgnores<T>(
  findings: T[],
  entries: IgnoreEntry[],
  matches: (entry: IgnoreEntry, finding: T) => boolean,
  now: Date,
): IgnoreOutcome<T> {
  const outcome: IgnoreOutcome<T> = { kept: [], ignored: [], expired: [] };
  for (const finding of findings) {
    const candidates = entries.filter((entry) => matches(entry, finding));
    const active = candidates.find((entry) => !isExpired(entry, now));
    if (active) {
      outcome.ignored.push({ finding, entry: active });
      continue;
    }
    outcome.kept.push(finding);
    if (candidates[0]) outcome.expired.push({ finding, entry: candidates[0] });
  }
  return outcome;
}

/** One line per expired entry that matched something: which, since when, and that it no longer ignores. */
export function expiryWarnings(entries: IgnoreEntry[], now: Date, matched: IgnoreEntry[]): string[] {
  return entries
    .filter((entry) => isExpired(entry, now))
    .map((entry) => {
      const hits = matched.filter((item) => item === entry).length;
      return `ignore-file entry ${describeEntry(entry)} expired on ${entry.expires} (reason was: ${entry.reason}): no longer ignored${
        hits ? `, ${hits} finding(s) count again` : ""
      }; renew or remove it`;
    });
}
