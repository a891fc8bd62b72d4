import {
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsCommandOutput,
  DescribeImagesCommand,
  type ECRClient,
  type EnhancedImageScanFinding,
  type ImageScanFinding,
} from "@aws-sdk/client-ecr";
import type { Clock } from "../clock.ts";
import { ToolkitError } from "../errors.ts";
import type { Reporter } from "../report/reporter.ts";
import type { EcrImage } from "./ecr-image.ts";
import { type Vulnerability, vulnerabilitySeverity } from "./vulnerabilities.ts";

/** The ECR scan of one image once it is complete: every finding of every page. */
export interface EcrScanFindings {
  status: string;
  kind: "basic" | "enhanced";
  completedAt?: Date;
  /** As ECR counted them (findingSeverityCounts), before our ignores. */
  severityCounts: Record<string, number>;
  vulnerabilities: Vulnerability[];
  polls: number;
}

export interface EcrWaitOptions {
  client: ECRClient;
  clock: Clock;
  reporter: Reporter;
  /** How long to wait for the scan to exist and complete. */
  maxWaitMs: number;
  signal?: AbortSignal;
  /** First poll interval; it grows ×1.5 up to maxIntervalMs. */
  intervalMs?: number;
  maxIntervalMs?: number;
}

const retried = new Set(["IN_PROGRESS", "PENDING"]);
const complete = new Set(["COMPLETE", "ACTIVE"]);
const terminalHints: Record<string, string> = {
  FAILED: "ECR could not scan the image; start a new scan (aws ecr start-image-scan) or check the image",
  FINDINGS_UNAVAILABLE:
    "enhanced scanning has no findings for this image (it may no longer be monitored); push it again or re-scan it",
  IMAGE_ARCHIVED: "the image is archived; restore it before it can be scanned",
  LIMIT_EXCEEDED:
    "ECR's scan limit for this image was reached (basic scanning allows one scan per image per day)",
  SCAN_ELIGIBILITY_EXPIRED:
    "the image is outside enhanced scanning's scan duration; push it again or extend the registry's scan duration",
};

const attribute = (finding: ImageScanFinding, key: string) =>
  finding.attributes?.find((item) => item.key === key)?.value;

/** Vulnerabilities of one DescribeImageScanFindings page: basic findings[] and enhanced enhancedFindings[]. */
export function parseScanFindingsPage(page: DescribeImageScanFindingsCommandOutput): Vulnerability[] {
  const found: Vulnerability[] = [];
  for (const finding of page.imageScanFindings?.findings ?? []) {
    found.push({
      id: finding.name ?? "unknown",
      package: attribute(finding, "package_name") ?? "unknown",
      installedVersion: attribute(finding, "package_version"),
      severity: vulnerabilitySeverity(finding.severity),
      title: finding.description,
      url: finding.uri,
      source: "ecr-basic",
    });
  }
  for (const finding of page.imageScanFindings?.enhancedFindings ?? []) found.push(...enhanced(finding));
  return found;
}

function enhanced(finding: EnhancedImageScanFinding): Vulnerability[] {
  if (finding.status && finding.status !== "ACTIVE") return [];
  const details = finding.packageVulnerabilityDetails;
  const id = details?.vulnerabilityId ?? finding.title ?? "unknown";
  const url = details?.sourceUrl ?? details?.referenceUrls?.[0] ?? finding.remediation?.recommendation?.url;
  const packages = details?.vulnerablePackages?.length ? details.vulnerablePackages : [{}];
  return packages.map((item) => ({
    id,
    package: item.name ?? "unknown",
    installedVersion: item.version ? `${item.version}${item.release ? `-${item.release}` : ""}` : undefined,
    fixedVersion: finding.fixAvailable === "NO" ? "" : (item.fixedInVersion ?? ""),
    severity: vulnerabilitySeverity(finding.severity),
    title: finding.title,
    url,
    source: "ecr-enhanced" as const,
  }));
}

const errorName = (error: unknown) => (error as { name?: string })?.name ?? "";

/**
 * Waits (bounded, on the injected clock) until ECR's scan of the image is complete, then reads every page of
 * findings. ScanNotFound, IN_PROGRESS and PENDING are retried; every other status ends the wait as what it is.
 */
export async function waitForScanFindings(
  image: EcrImage,
  options: EcrWaitOptions,
): Promise<EcrScanFindings> {
  const { client, clock, reporter } = options;
  const started = clock.now().getTime();
  const deadline = started + options.maxWaitMs;
  let interval = options.intervalMs ?? 5000;
  const imageId = image.imageDigest ? { imageDigest: image.imageDigest } : { imageTag: image.imageTag };
  const request = { repositoryName: image.repositoryName, registryId: image.registryId, imageId };
  let polls = 0;
  let lastState = "";
  for (;;) {
    polls++;
    let first: DescribeImageScanFindingsCommandOutput | undefined;
    let state: string;
    try {
      first = await client.send(new DescribeImageScanFindingsCommand(request), {
        abortSignal: options.signal,
      });
      state = first.imageScanStatus?.status ?? "UNKNOWN";
    } catch (error) {
      if (errorName(error) !== "ScanNotFoundException") throw describeFailure(error, image);
      state = "ScanNotFound";
    }
    if (first && complete.has(state)) return readAllPages(first, request, options, polls);
    if (first && !retried.has(state)) throw await terminalStatus(first, image, client);
    if (state !== lastState) reporter.info(`ECR scan of ${image.reference}: ${state}`);
    lastState = state;
    const now = clock.now().getTime();
    if (now >= deadline) {
      const waited = Math.round((now - started) / 1000);
      throw new ToolkitError(
        state === "ScanNotFound"
          ? `ECR has no scan of ${image.reference} after ${waited} s; turn on scan on push for the repository (or enhanced scanning for the registry), or raise scan-wait-minutes`
          : `ECR's scan of ${image.reference} is still ${state} after ${waited} s; raise scan-wait-minutes`,
      );
    }
    await clock.sleep(Math.min(interval, deadline - now), options.signal);
    interval = Math.min(Math.round(interval * 1.5), options.maxIntervalMs ?? 30_000);
  }
}

async function readAllPages(
  first: DescribeImageScanFindingsCommandOutput,
  request: { repositoryName: string; registryId?: string; imageId: Record<string, string | undefined> },
  options: EcrWaitOptions,
  polls: number,
): Promise<EcrScanFindings> {
  const vulnerabilities = parseScanFindingsPage(first);
  let enhancedSeen = Boolean(first.imageScanFindings?.enhancedFindings?.length);
  let nextToken = first.nextToken;
  while (nextToken) {
    const page = await options.client.send(new DescribeImageScanFindingsCommand({ ...request, nextToken }), {
      abortSignal: options.signal,
    });
    vulnerabilities.push(...parseScanFindingsPage(page));
    enhancedSeen ||= Boolean(page.imageScanFindings?.enhancedFindings?.length);
    nextToken = page.nextToken;
  }
  const counts: Record<string, number> = {};
  for (const [severity, count] of Object.entries(first.imageScanFindings?.findingSeverityCounts ?? {}))
    counts[severity] = count ?? 0;
  return {
    status: first.imageScanStatus?.status ?? "COMPLETE",
    kind: enhancedSeen || first.imageScanStatus?.status === "ACTIVE" ? "enhanced" : "basic",
    completedAt: first.imageScanFindings?.imageScanCompletedAt,
    severityCounts: counts,
    vulnerabilities,
    polls,
  };
}

async function terminalStatus(
  response: DescribeImageScanFindingsCommandOutput,
  image: EcrImage,
  client: ECRClient,
): Promise<ToolkitError> {
  const status = response.imageScanStatus?.status ?? "UNKNOWN";
  const description = response.imageScanStatus?.description;
  const said = description ? `: ${description}` : "";
  if (status === "UNSUPPORTED_IMAGE") {
    const mediaType = await manifestMediaType(client, image);
    const index = mediaType ? /index|manifest\.list/.test(mediaType) : false;
    return new ToolkitError(
      `ECR cannot scan ${image.reference} (UNSUPPORTED_IMAGE${said})${mediaType ? `; its manifest is ${mediaType}` : ""}; ${
        index
          ? "an image index (buildx adds a provenance attestation by default) cannot be scanned: build with provenance: false, or scan the per-platform image digest"
          : "scan a single-platform image of a supported OS, or gate on a trivy report instead"
      }`,
    );
  }
  return new ToolkitError(
    `ECR's scan of ${image.reference} ended ${status}${said}; ${terminalHints[status] ?? "check the image in the ECR console"}`,
  );
}

async function manifestMediaType(client: ECRClient, image: EcrImage): Promise<string | undefined> {
  try {
    const described = await client.send(
      new DescribeImagesCommand({
        repositoryName: image.repositoryName,
        registryId: image.registryId,
        imageIds: [image.imageDigest ? { imageDigest: image.imageDigest } : { imageTag: image.imageTag }],
      }),
    );
    return described.imageDetails?.[0]?.imageManifestMediaType;
  } catch {
    return undefined;
  }
}

function describeFailure(error: unknown, image: EcrImage): ToolkitError {
  const name = errorName(error);
  const message = (error as Error)?.message ?? String(error);
  const hint =
    name === "RepositoryNotFoundException"
      ? "check the repository in the image input and aws-region"
      : name === "ImageNotFoundException"
        ? "push the image first (build-push) and pass its image-ref output"
        : name === "AccessDeniedException"
          ? "the role needs ecr:DescribeImageScanFindings and ecr:DescribeImages on the repository"
          : "check the image input and the job's AWS credentials";
  return new ToolkitError(
    `DescribeImageScanFindings refused for ${image.reference}: ${name || "error"}: ${message} — ${hint}`,
    { cause: error },
  );
}
