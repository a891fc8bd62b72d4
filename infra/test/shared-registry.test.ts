import { beforeAll, describe, expect, test } from "vitest";
import { COMPONENT_NAMES } from "../lib/config.ts";
import { onlyResource, type SynthesizedPlatform, synthesizePlatform } from "./platform.ts";

let synthesized: SynthesizedPlatform;
beforeAll(() => {
  synthesized = synthesizePlatform();
});

describe.each(COMPONENT_NAMES)("the shared ECR repository of %s", (component) => {
  const repository = () =>
    onlyResource(
      synthesized.shared,
      "AWS::ECR::Repository",
      (r) => r.Properties?.RepositoryName === `valmetal/${component}`,
    ).Properties as Record<string, unknown>;

  test("is scanned on push and refuses to overwrite a tag", () => {
    expect(repository()).toMatchObject({
      ImageScanningConfiguration: { ScanOnPush: true },
      ImageTagMutability: "IMMUTABLE",
    });
  });

  test("expires untagged images and keeps a bounded number of images per environment, prod first", () => {
    const policy = JSON.parse(
      (repository().LifecyclePolicy as { LifecyclePolicyText: string }).LifecyclePolicyText,
    );
    const rules = policy.rules as { rulePriority: number; selection: Record<string, unknown> }[];
    expect(rules.map((rule) => rule.selection.tagStatus)).toEqual(["untagged", "tagged", "tagged", "tagged"]);
    const prefixes = rules
      .filter((rule) => rule.selection.tagStatus === "tagged")
      .sort((a, b) => a.rulePriority - b.rulePriority)
      .map((rule) => rule.selection.tagPrefixList);
    expect(prefixes).toEqual([["prod-"], ["staging-"], ["dev-"]]);
    for (const rule of rules) expect(rule.selection.countType).toMatch(/imageCountMoreThan|sinceImagePushed/);
  });

  test("lets only the environments' named roles pull, push or read, through their accounts", () => {
    const document = repository().RepositoryPolicyText as {
      Statement: {
        Sid: string;
        Principal: { AWS: string[] };
        Action: string[];
        Condition: { ArnEquals: { "aws:PrincipalArn": string[] } };
      }[];
    };
    const bySid = Object.fromEntries(document.Statement.map((statement) => [statement.Sid, statement]));
    const accounts = ["222222222222", "333333333333", "444444444444"];
    for (const statement of document.Statement) {
      expect(statement.Principal.AWS.sort()).toEqual(
        accounts.map((account) => `arn:aws:iam::${account}:root`),
      );
      expect(JSON.stringify(statement.Principal)).not.toContain('"*"');
      for (const action of statement.Action) expect(action).not.toContain("*");
    }
    expect(bySid.PullFromEnvironmentExecutionRoles?.Action.sort()).toEqual([
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]);
    expect(bySid.PullFromEnvironmentExecutionRoles?.Condition.ArnEquals["aws:PrincipalArn"]).toEqual([
      `arn:aws:iam::222222222222:role/valmetal-dev-${component}-execution`,
      `arn:aws:iam::333333333333:role/valmetal-staging-${component}-execution`,
      `arn:aws:iam::444444444444:role/valmetal-prod-${component}-execution`,
    ]);
    expect(bySid.PushFromEnvironmentDeployRoles?.Action).toContain("ecr:PutImage");
    expect(bySid.PushFromEnvironmentDeployRoles?.Condition.ArnEquals["aws:PrincipalArn"]).toEqual([
      "arn:aws:iam::222222222222:role/valmetal-dev-github-deploy",
      "arn:aws:iam::333333333333:role/valmetal-staging-github-deploy",
      "arn:aws:iam::444444444444:role/valmetal-prod-github-deploy",
    ]);
    expect(bySid.ReadFromEnvironmentTagCheckRoles?.Action.sort()).toEqual([
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
    ]);
  });

  test("is kept when the stack is deleted", () => {
    const resource = onlyResource(
      synthesized.shared,
      "AWS::ECR::Repository",
      (r) => r.Properties?.RepositoryName === `valmetal/${component}`,
    ) as { DeletionPolicy?: string };
    expect(resource.DeletionPolicy).toBe("Retain");
  });
});

test("the shared stack holds the repositories and nothing else", () => {
  expect(Object.keys(synthesized.shared.toJSON().Resources)).toHaveLength(2);
  synthesized.shared.resourceCountIs("AWS::ECR::Repository", 2);
});
