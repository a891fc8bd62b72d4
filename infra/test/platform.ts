// One synthesis of the whole platform per test file: build the app, read each stack's template.
import { Template } from "aws-cdk-lib/assertions";
import { ENVIRONMENT_NAMES, type EnvironmentName } from "../lib/config.ts";
import { buildPlatformApp, type PlatformApp, type PlatformAppOptions } from "../lib/synthesize.ts";

export interface SynthesizedPlatform {
  readonly platform: PlatformApp;
  readonly shared: Template;
  readonly environments: Readonly<Record<EnvironmentName, Template>>;
}

export function synthesizePlatform(options: PlatformAppOptions = {}): SynthesizedPlatform {
  const platform = buildPlatformApp(options);
  const environments = {} as Record<EnvironmentName, Template>;
  for (const name of ENVIRONMENT_NAMES) environments[name] = Template.fromStack(platform.environments[name]);
  return { platform, shared: Template.fromStack(platform.shared), environments };
}

export type Resource = { Type: string; Properties: Record<string, unknown> };

/** Resources of one type, as logical id → resource. */
export function resourcesOf(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

export function onlyResource(
  template: Template,
  type: string,
  match: (resource: Resource) => boolean,
): Resource {
  const found = resourcesOf(template, type).filter(([, resource]) => match(resource));
  if (found.length !== 1) throw new Error(`expected one ${type} to match, found ${found.length}`);
  return (found[0] as [string, Resource])[1];
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of the inline policies attached to the role with this RoleName. */
export function roleStatements(template: Template, roleName: string): Statement[] {
  const [roleId] = resourcesOf(template, "AWS::IAM::Role").find(
    ([, role]) => role.Properties?.RoleName === roleName,
  ) ?? [undefined];
  if (!roleId) throw new Error(`no role named ${roleName}`);
  return resourcesOf(template, "AWS::IAM::Policy")
    .filter(([, policy]) => JSON.stringify(policy.Properties?.Roles).includes(`"${roleId}"`))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourcesOfStatement(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

export function tagsOf(resource: Resource): Record<string, unknown> | undefined {
  const tags = resource.Properties?.Tags;
  if (tags === undefined) return undefined;
  if (Array.isArray(tags)) {
    return Object.fromEntries((tags as { Key: string; Value: unknown }[]).map((tag) => [tag.Key, tag.Value]));
  }
  return tags as Record<string, unknown>;
}
