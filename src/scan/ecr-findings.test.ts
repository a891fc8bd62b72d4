import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  ECRClient,
  ScanNotFoundException,
} from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { repositoryRoot } from "../../test/support/run-action.ts";
import { FakeClock } from "../clock.ts";
import { memoryReporter } from "../report/reporter.ts";
import { waitForScanFindings } from "./ecr-findings.ts";
import { parseEcrImage } from "./ecr-image.ts";

const ecr = mockClient(ECRClient);
const digest = `sha256:${"a".repeat(64)}`;
const image = parseEcrImage(`123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api@${digest}`);
const example = JSON.parse(
  readFileSync(join(repositoryRoot, "test/fixtures/ecr/ecr-describe-image-scan-findings.json"), "utf8"),
) as DescribeImageScanFindingsCommandOutput;
const status = (value: string, description?: string) =>
  ({ imageScanStatus: { status: value, description } }) as DescribeImageScanFindingsCommandOutput;
const notFound = () =>
  new ScanNotFoundException({ message: "Image scan does not exist for the image", $metadata: {} });

function wait(clock = new FakeClock(), maxWaitMs = 600_000) {
  return waitForScanFindings(image, {
    client: new ECRClient({ region: "ca-central-1" }),
    clock,
    reporter: memoryReporter(),
    maxWaitMs,
  });
}

describe("ECR scan findings of a pushed digest", () => {
  beforeEach(() => ecr.reset());

  it("parses ECR image references of digests and tags, and other registries playing ECR", () => {
    expect(image).toMatchObject({
      repositoryName: "valmetal/api",
      registryId: "123456789012",
      region: "ca-central-1",
      imageDigest: digest,
    });
    expect(parseEcrImage("127.0.0.1:5000/e2e/scan:dev-1")).toMatchObject({
      repositoryName: "e2e/scan",
      imageTag: "dev-1",
      registryId: undefined,
    });
    expect(() => parseEcrImage("valmetal/api")).toThrow("pass the image-ref output of build-push");
    expect(() => parseEcrImage("127.0.0.1:5000/e2e/scan@sha256:abc")).toThrow("not sha256:<64 hex>");
  });

  it("retries ScanNotFound, PENDING and IN_PROGRESS, then reads every page of findings", async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .rejectsOnce(notFound())
      .resolvesOnce(status("PENDING"))
      .resolvesOnce(status("IN_PROGRESS"))
      .resolvesOnce({ ...example, nextToken: "page-2" })
      .resolvesOnce({
        imageScanStatus: { status: "COMPLETE" },
        imageScanFindings: {
          findings: [
            {
              name: "CVE-2024-0001",
              severity: "HIGH",
              attributes: [{ key: "package_name", value: "openssl" }],
            },
          ],
        },
      });
    const clock = new FakeClock();
    const found = await wait(clock);
    expect(found.status).toBe("COMPLETE");
    expect(found.kind).toBe("basic");
    expect(found.polls).toBe(4);
    expect(found.vulnerabilities.map((item) => `${item.id} ${item.package} ${item.severity}`)).toEqual([
      "CVE-2019-5188 e2fsprogs MEDIUM",
      "CVE-2024-0001 openssl HIGH",
    ]);
    expect(clock.sleeps).toEqual([5000, 7500, 11250]);
    const calls = ecr.commandCalls(DescribeImageScanFindingsCommand).map((call) => call.args[0].input);
    expect(calls[0]).toEqual({
      repositoryName: "valmetal/api",
      registryId: "123456789012",
      imageId: { imageDigest: digest },
    });
    expect(calls[4]?.nextToken).toBe("page-2");
  });

  it("reads enhanced (Inspector) findings with their fixed versions, one per vulnerable package", async () => {
    ecr.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: "ACTIVE" },
      imageScanFindings: {
        enhancedFindings: [
          {
            severity: "CRITICAL",
            status: "ACTIVE",
            title: "CVE-2023-4911 - glibc",
            fixAvailable: "YES",
            packageVulnerabilityDetails: {
              vulnerabilityId: "CVE-2023-4911",
              sourceUrl: "https://security-tracker.debian.org/tracker/CVE-2023-4911",
              vulnerablePackages: [
                { name: "libc6", version: "2.36", release: "9+deb12u1", fixedInVersion: "2.36-9+deb12u3" },
                { name: "libc-bin", version: "2.36", release: "9+deb12u1", fixedInVersion: "2.36-9+deb12u3" },
              ],
            },
          },
          { severity: "HIGH", status: "CLOSED", title: "fixed already" },
          {
            severity: "UNTRIAGED",
            status: "ACTIVE",
            fixAvailable: "NO",
            packageVulnerabilityDetails: {
              vulnerabilityId: "CVE-2024-9",
              vulnerablePackages: [{ name: "zlib", version: "1.2", fixedInVersion: "NotAvailable" }],
            },
          },
        ],
      },
    });
    const found = await wait();
    expect(found.kind).toBe("enhanced");
    expect(found.vulnerabilities).toEqual([
      expect.objectContaining({
        id: "CVE-2023-4911",
        package: "libc6",
        installedVersion: "2.36-9+deb12u1",
        fixedVersion: "2.36-9+deb12u3",
        severity: "CRITICAL",
        source: "ecr-enhanced",
      }),
      expect.objectContaining({ package: "libc-bin" }),
      expect.objectContaining({ id: "CVE-2024-9", fixedVersion: "", severity: "UNDEFINED" }),
    ]);
  });

  it("says clearly that an image index cannot be scanned, and why", async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolves(status("UNSUPPORTED_IMAGE", "The operation is not supported for this image."));
    ecr
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageManifestMediaType: "application/vnd.oci.image.index.v1+json" }] });
    await expect(wait()).rejects.toThrow(
      `ECR cannot scan ${image.reference} (UNSUPPORTED_IMAGE: The operation is not supported for this image.); its manifest is application/vnd.oci.image.index.v1+json; an image index (buildx adds a provenance attestation by default) cannot be scanned: build with provenance: false, or scan the per-platform image digest`,
    );
    expect(ecr.commandCalls(DescribeImageScanFindingsCommand)).toHaveLength(1);
  });

  it.each([
    ["FAILED", "ended FAILED"],
    ["FINDINGS_UNAVAILABLE", "ended FINDINGS_UNAVAILABLE"],
    ["LIMIT_EXCEEDED", "one scan per image per day"],
    ["SCAN_ELIGIBILITY_EXPIRED", "scan duration"],
    ["IMAGE_ARCHIVED", "archived"],
  ])("reports the terminal status %s as such, without waiting", async (value, message) => {
    ecr.on(DescribeImageScanFindingsCommand).resolves(status(value));
    const clock = new FakeClock();
    await expect(wait(clock)).rejects.toThrow(message);
    expect(clock.sleeps).toEqual([]);
  });

  it("gives up at the bound when the scan never appears, saying how to get one", async () => {
    ecr.on(DescribeImageScanFindingsCommand).rejects(notFound());
    const clock = new FakeClock();
    await expect(wait(clock, 120_000)).rejects.toThrow(
      `ECR has no scan of ${image.reference} after 120 s; turn on scan on push`,
    );
    expect(clock.sleeps.reduce((sum, value) => sum + value, 0)).toBe(120_000);
  });

  it("keeps AWS's error and adds a hint for other refusals", async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .rejects(Object.assign(new Error("User is not authorized"), { name: "AccessDeniedException" }));
    await expect(wait()).rejects.toThrow(
      "DescribeImageScanFindings refused for 123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api@sha256:aaaa",
    );
    await expect(wait()).rejects.toThrow(
      "AccessDeniedException: User is not authorized — the role needs ecr:DescribeImageScanFindings",
    );
  });
});
