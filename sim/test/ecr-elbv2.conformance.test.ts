import { createHash } from "node:crypto";
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  ImageTagAlreadyExistsException,
  ListImagesCommand,
  PutImageCommand,
  RepositoryNotFoundException,
  ScanNotFoundException,
} from "@aws-sdk/client-ecr";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  TargetGroupNotFoundException,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type LocalRegistry, startLocalRegistry } from "../../test/support/local-registry.ts";
import { fixture } from "./deploy-helpers.ts";
import { startTestSimulator, type TestSimulator } from "./support.ts";

/** ECR over a real docker-registry, and the ELBv2 reads, through the real SDK clients. */

let t: TestSimulator;
let registry: LocalRegistry;
beforeAll(async () => {
  registry = await startLocalRegistry("sim-ecr");
  t = await startTestSimulator({ templates: [fixture], settings: { registry: registry.address } });
  await t.advance(30);
});
afterAll(async () => {
  await t?.stop();
  await registry?.stop();
});

async function pushImage(
  repository: string,
  tag: string,
  content: string,
): Promise<{ digest: string; manifest: string }> {
  const upload = async (bytes: Buffer) => {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const start = await fetch(`http://${registry.address}/v2/${repository}/blobs/uploads/`, {
      method: "POST",
    });
    const location = new URL(start.headers.get("location") ?? "", `http://${registry.address}`);
    location.searchParams.set("digest", digest);
    const put = await fetch(location, {
      method: "PUT",
      body: bytes,
      headers: { "content-type": "application/octet-stream" },
    });
    if (!put.ok) throw new Error(`blob upload failed: ${put.status}`);
    return { digest, size: bytes.length };
  };
  const config = await upload(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Labels: { content } },
        rootfs: { type: "layers", diff_ids: [] },
      }),
    ),
  );
  const layer = await upload(Buffer.from(content));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
  });
  const put = await fetch(`http://${registry.address}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    body: manifest,
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
  });
  if (!put.ok) throw new Error(`manifest push failed: ${put.status} ${await put.text()}`);
  return { digest: `sha256:${createHash("sha256").update(manifest).digest("hex")}`, manifest };
}

describe("ECR conformance", () => {
  test("repositories point at the local registry; the authorization token names it", async () => {
    const repositories = await t.ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ["valmetal/dev-api"] }),
    );
    expect(repositories.repositories?.[0]).toMatchObject({
      repositoryUri: `${registry.address}/valmetal/dev-api`,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
    });
    await t.ecr.send(new CreateRepositoryCommand({ repositoryName: "valmetal/web" }));
    await expect(
      t.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["ghost"] })),
    ).rejects.toBeInstanceOf(RepositoryNotFoundException);
    const token = await t.ecr.send(new GetAuthorizationTokenCommand({}));
    expect(token.authorizationData?.[0]?.proxyEndpoint).toBe(`http://${registry.address}`);
    expect(Buffer.from(token.authorizationData?.[0]?.authorizationToken ?? "", "base64").toString()).toMatch(
      /^AWS:/,
    );
  });

  test("images pushed to the registry are described, fetched and re-tagged through ECR; immutable tags refuse overwrites", async () => {
    const first = await pushImage("valmetal/dev-api", "dev-1", "one");
    const second = await pushImage("valmetal/dev-api", "dev-2", "two");
    const described = await t.ecr.send(
      new DescribeImagesCommand({ repositoryName: "valmetal/dev-api", imageIds: [{ imageTag: "dev-1" }] }),
    );
    expect(described.imageDetails?.[0]).toMatchObject({
      imageDigest: first.digest,
      imageTags: ["dev-1"],
      imageScanStatus: { status: "COMPLETE" },
    });
    expect(described.imageDetails?.[0]?.imagePushedAt).toBeInstanceOf(Date);
    const fetched = await t.ecr.send(
      new BatchGetImageCommand({
        repositoryName: "valmetal/dev-api",
        imageIds: [{ imageTag: "dev-2" }, { imageTag: "nope" }],
      }),
    );
    expect(fetched.images?.[0]?.imageId?.imageDigest).toBe(second.digest);
    expect(fetched.failures?.[0]?.failureCode).toBe("ImageNotFound");
    const promoted = await t.ecr.send(
      new PutImageCommand({
        repositoryName: "valmetal/dev-api",
        imageManifest: first.manifest,
        imageTag: "prod-1",
      }),
    );
    expect(promoted.image?.imageId?.imageDigest).toBe(first.digest);
    await expect(
      t.ecr.send(
        new PutImageCommand({
          repositoryName: "valmetal/dev-api",
          imageManifest: second.manifest,
          imageTag: "prod-1",
        }),
      ),
    ).rejects.toBeInstanceOf(ImageTagAlreadyExistsException);
    const listed = await t.ecr.send(new ListImagesCommand({ repositoryName: "valmetal/dev-api" }));
    expect(listed.imageIds?.map((id) => id.imageTag).sort()).toEqual(["dev-1", "dev-2", "prod-1"]);
  });

  test("scan findings are set per digest through the admin API; without a scan, ScanNotFoundException", async () => {
    const image = await pushImage("valmetal/web", "dev-1", "web");
    await expect(
      t.ecr.send(
        new DescribeImageScanFindingsCommand({
          repositoryName: "valmetal/web",
          imageId: { imageDigest: image.digest },
        }),
      ),
    ).rejects.toBeInstanceOf(ScanNotFoundException);
    await t.admin("/scan-findings", {
      repositoryName: "valmetal/web",
      imageDigest: image.digest,
      findings: [
        { name: "CVE-2026-0001", severity: "CRITICAL", uri: "https://example.test/CVE-2026-0001" },
        { name: "CVE-2026-0002", severity: "LOW" },
      ],
    });
    const findings = await t.ecr.send(
      new DescribeImageScanFindingsCommand({
        repositoryName: "valmetal/web",
        imageId: { imageTag: "dev-1" },
      }),
    );
    expect(findings.imageScanStatus?.status).toBe("COMPLETE");
    expect(findings.imageScanFindings?.findingSeverityCounts).toEqual({ CRITICAL: 1, LOW: 1 });
    expect(findings.imageScanFindings?.findings?.[0]?.name).toBe("CVE-2026-0001");
  });
});

describe("ELBv2 reads", () => {
  test("load balancers, listeners with weights, target groups, target health and rules", async () => {
    const lbs = await t.elbv2.send(new DescribeLoadBalancersCommand({ Names: ["valmetal-alb"] }));
    const lb = lbs.LoadBalancers?.[0];
    expect(lb).toMatchObject({
      LoadBalancerName: "valmetal-alb",
      Type: "application",
      State: { Code: "active" },
    });
    const listeners = await t.elbv2.send(
      new DescribeListenersCommand({ LoadBalancerArn: lb?.LoadBalancerArn }),
    );
    expect(listeners.Listeners?.map((listener) => listener.Port)).toEqual([80, 9000]);
    const groups = await t.elbv2.send(new DescribeTargetGroupsCommand({ Names: ["api-blue", "api-green"] }));
    expect(
      groups.TargetGroups?.map((group) => [group.TargetGroupName, group.HealthCheckPath, group.TargetType]),
    ).toEqual([
      ["api-blue", "/health", "ip"],
      ["api-green", "/health", "ip"],
    ]);
    const health = await t.elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: groups.TargetGroups?.[0]?.TargetGroupArn }),
    );
    expect(health.TargetHealthDescriptions?.map((item) => item.TargetHealth?.State)).toEqual([
      "healthy",
      "healthy",
    ]);
    const rules = await t.elbv2.send(
      new DescribeRulesCommand({ ListenerArn: listeners.Listeners?.[0]?.ListenerArn }),
    );
    expect(rules.Rules?.[0]).toMatchObject({ IsDefault: true, Priority: "default" });
    await expect(t.elbv2.send(new DescribeTargetGroupsCommand({ Names: ["ghost"] }))).rejects.toBeInstanceOf(
      TargetGroupNotFoundException,
    );
  });
});
