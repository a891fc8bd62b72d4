import { describe, expect, it } from "vitest";
import { FakeClock } from "../clock.ts";
import { applyIgnores, entryMatchers, expiryWarnings, isExpired, parseIgnoreFile } from "./ignore-file.ts";
import type { Vulnerability } from "./vulnerabilities.ts";

const yaml = `
vulnerabilities:
  - id: CVE-2019-14697
    package: musl
    reason: musl's x87 bug does not apply on x86_64
    expires: 2026-03-31
  - id: CVE-2019-1549
    reason: no fork() after RNG use in our process
    expires: 2025-12-31
sast:
  - rule: javascript.lang.correctness.useless-eqeq.eqeq-is-bad
    path: targets/basic
    reason: NaN check in legacy code
    expires: 2026-06-30
secrets:
  - fingerprint: 0000000000000000:auth.py:test-rule:1
    reason: revoked test key
    expires: 2026-01-31
`;

const vulnerability = (id: string, pkg: string): Vulnerability => ({
  id,
  package: pkg,
  severity: "CRITICAL",
  source: "trivy",
});

describe("ignore file", () => {
  it("reads YAML sections with reasons and expiry days", () => {
    const { entries } = parseIgnoreFile(yaml, ".scan-ignore.yml");
    expect(entries.map((entry) => [entry.section, entry.expires])).toEqual([
      ["vulnerabilities", "2026-03-31"],
      ["vulnerabilities", "2025-12-31"],
      ["sast", "2026-06-30"],
      ["secrets", "2026-01-31"],
    ]);
  });

  it("reads the same file as JSON", () => {
    const json = JSON.stringify({ vulnerabilities: [{ id: "CVE-1", reason: "r", expires: "2026-02-01" }] });
    expect(parseIgnoreFile(json, "ignore.json").entries).toEqual([
      { section: "vulnerabilities", id: "CVE-1", package: undefined, reason: "r", expires: "2026-02-01" },
    ]);
  });

  it.each([
    ["vulnerabilities:\n  - id: CVE-1\n    expires: 2026-01-01\n", "vulnerabilities[0] has no reason"],
    [
      "vulnerabilities:\n  - id: CVE-1\n    reason: ok\n",
      "has expires ''; give the day it stops ignoring as YYYY-MM-DD",
    ],
    ["vulnerabilities:\n  - id: CVE-1\n    reason: ok\n    expires: next year\n", "has expires 'next year'"],
    ["images:\n  - id: CVE-1\n", "unknown section 'images'"],
    [
      "secrets:\n  - rule: aws\n    reason: ok\n    expires: 2026-01-01\n",
      "needs a fingerprint, or a rule and a path",
    ],
    ["sast:\n  - rule: r\n    reason: ok\n    expires: 2026-01-01\n    until: x\n", "unknown key(s) until"],
    ["vulnerabilities: [\n", "is not valid YAML or JSON"],
  ])("refuses %j with one clear error", (text, message) => {
    expect(() => parseIgnoreFile(text, "ignore.yml")).toThrow(message);
  });

  it("ignores through the expiry day, then stops ignoring and says so (fake clock)", () => {
    const { entries } = parseIgnoreFile(yaml, "ignore.yml");
    const findings = [
      vulnerability("CVE-2019-14697", "musl"),
      vulnerability("CVE-2019-14697", "musl-utils"),
      vulnerability("CVE-2019-1549", "libssl1.1"),
    ];
    const clock = new FakeClock(new Date("2025-12-31T23:59:59Z"));
    const before = applyIgnores(findings, entries, entryMatchers.vulnerabilities, clock.now());
    expect(before.kept.map((item) => item.package)).toEqual(["musl-utils"]);
    expect(before.ignored.map((item) => item.entry.reason)).toEqual([
      "musl's x87 bug does not apply on x86_64",
      "no fork() after RNG use in our process",
    ]);

    clock.advance(1000);
    const after = applyIgnores(findings, entries, entryMatchers.vulnerabilities, clock.now());
    expect(after.kept.map((item) => item.package)).toEqual(["musl-utils", "libssl1.1"]);
    expect(after.expired.map((item) => item.entry.id)).toEqual(["CVE-2019-1549"]);
    expect(
      expiryWarnings(
        entries.filter((entry) => entry.section === "vulnerabilities"),
        clock.now(),
        after.expired.map((item) => item.entry),
      ),
    ).toEqual([
      "ignore-file entry vulnerabilities CVE-2019-1549 expired on 2025-12-31 (reason was: no fork() after RNG use in our process): no longer ignored, 1 finding(s) count again; renew or remove it",
    ]);
    expect(isExpired(entries[0] as never, clock.now())).toBe(false);
  });

  it("matches SAST entries by rule under a folder, and secrets by fingerprint", () => {
    const { entries } = parseIgnoreFile(yaml, "ignore.yml");
    const sast = entries.find((entry) => entry.section === "sast");
    const finding = {
      rule: "javascript.lang.correctness.useless-eqeq.eqeq-is-bad",
      path: "targets/basic/stupid.js",
    };
    expect(entryMatchers.sast(sast as never, finding as never)).toBe(true);
    expect(entryMatchers.sast(sast as never, { ...finding, path: "targets/basics/x.js" } as never)).toBe(
      false,
    );
    const secret = entries.find((entry) => entry.section === "secrets");
    expect(
      entryMatchers.secrets(
        secret as never,
        { fingerprint: "0000000000000000:auth.py:test-rule:1" } as never,
      ),
    ).toBe(true);
  });
});
