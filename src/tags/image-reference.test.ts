import { describe, expect, it } from "vitest";
import { allowedImage, environmentShaTag, parseImageReference } from "./image-reference.ts";

const ecr = "123456789012.dkr.ecr.ca-central-1.amazonaws.com";
const sha = "ede8f4c9a8fba49e904614fc80efd8936c9e41cc";
const digest = `sha256:${"a".repeat(64)}`;

describe("image references", () => {
  it.each([
    [`${ecr}/valmetal/api:prod-${sha}`, ecr, "valmetal/api", `prod-${sha}`, undefined],
    [`${ecr}/valmetal/api@${digest}`, ecr, "valmetal/api", undefined, digest],
    [`${ecr}/valmetal/api:prod-${sha}@${digest}`, ecr, "valmetal/api", `prod-${sha}`, digest],
    ["127.0.0.1:5000/valmetal/web:dev-x", "127.0.0.1:5000", "valmetal/web", "dev-x", undefined],
    ["localhost/app", "localhost", "app", undefined, undefined],
    ["nginx", "docker.io", "library/nginx", undefined, undefined],
    ["nginx:1.27", "docker.io", "library/nginx", "1.27", undefined],
    ["grafana/grafana:11", "docker.io", "grafana/grafana", "11", undefined],
  ])("splits %s", (reference, registry, repository, tag, expectedDigest) => {
    expect(parseImageReference(reference)).toEqual({
      reference,
      registry,
      repository,
      ...(tag ? { tag } : {}),
      ...(expectedDigest ? { digest: expectedDigest } : {}),
    });
  });

  it.each([
    [`prod-${sha}`, true],
    [`staging-eu-${sha}`, true],
    [`sha-${sha}`, true],
    [`prod-${sha.slice(0, 12)}`, false],
    [`Prod-${sha}`, false],
    [`prod-${sha.toUpperCase()}`, false],
    ["latest", false],
  ])("recognises %s as <environment>-<sha>: %s", (tag, expected) => {
    expect(environmentShaTag.test(tag)).toBe(expected);
  });

  it.each([
    [[], true],
    [[ecr], true],
    [[`${ecr}/valmetal`], true],
    [[`${ecr}/valmetal/`], true],
    [[`${ecr}/valmetal/api`], true],
    [[`${ecr}/valmet`], false],
    [["ghcr.io", `${ecr}/other`], false],
    [[""], false],
  ])("allows the image under %j: %s", (allowed, expected) => {
    expect(allowedImage(parseImageReference(`${ecr}/valmetal/api:prod-${sha}`), allowed)).toBe(expected);
  });
});
