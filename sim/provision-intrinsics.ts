import { putCompositeAlarm, putMetricAlarm } from "./control/cloudwatch.ts";
import type { Sim } from "./control/state.ts";

/** CloudFormation intrinsic functions, parameters, pseudo parameters and conditions. */

// biome-ignore lint/suspicious/noExplicitAny: template JSON
type Json = any;

export interface ResolveContext {
  stackName: string;
  refs: Record<string, unknown>;
  attributes: Record<string, Record<string, unknown>>;
  parameters: Record<string, unknown>;
  pseudo: Record<string, unknown>;
  conditions: Record<string, Json>;
  mappings: Record<string, Json>;
  pendingIds: Set<string>;
  condition(name: string): boolean;
}

export function intrinsicContext(
  sim: Sim,
  template: Json,
  stackName: string,
  given: Record<string, string>,
): ResolveContext {
  const { region, accountId } = sim.state.settings;
  const parameters: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries<Json>(template.Parameters ?? {})) {
    let value: unknown = given[name] ?? spec.Default;
    if (value === undefined && String(spec.Type).startsWith("AWS::SSM::Parameter"))
      value = name === "BootstrapVersion" ? "30" : `sim-${name}`;
    if (value === undefined) throw new Error(`${stackName}: parameter ${name} has no default; pass a value`);
    parameters[name] =
      String(spec.Type).startsWith("List<") || spec.Type === "CommaDelimitedList"
        ? String(value).split(",")
        : value;
  }
  const context: ResolveContext = {
    stackName,
    refs: {},
    attributes: {},
    parameters,
    pseudo: {
      "AWS::Region": region,
      "AWS::AccountId": accountId,
      "AWS::Partition": "aws",
      "AWS::URLSuffix": "amazonaws.com",
      "AWS::StackName": stackName,
      "AWS::StackId": `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/00000000-0000-0000-0000-000000000000`,
      "AWS::NoValue": undefined,
      "AWS::NotificationARNs": [],
    },
    conditions: template.Conditions ?? {},
    mappings: template.Mappings ?? {},
    pendingIds: new Set(Object.keys(template.Resources ?? {})),
    condition: (name) => Boolean(resolve(context, context.conditions[name])),
  };
  return context;
}

function ref(context: ResolveContext, name: string): unknown {
  if (name in context.pseudo) return context.pseudo[name];
  if (name in context.parameters) return context.parameters[name];
  if (name in context.refs) return context.refs[name];
  if (context.pendingIds.has(name)) throw new Error(`pending:${name}`);
  throw new Error(`${context.stackName}: Ref to unknown ${name}`);
}

function getAtt(context: ResolveContext, id: string, attribute: string): unknown {
  if (!(id in context.refs)) {
    if (context.pendingIds.has(id)) throw new Error(`pending:${id}`);
    throw new Error(`${context.stackName}: Fn::GetAtt of unknown ${id}`);
  }
  const attributes = context.attributes[id];
  if (attributes && attribute in attributes) return attributes[attribute];
  return `${context.refs[id]}.${attribute}`;
}

export function resolve(context: ResolveContext, value: Json): Json {
  if (Array.isArray(value))
    return value.map((item) => resolve(context, item)).filter((item) => item !== noValue);
  if (!value || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const key = keys[0] as string;
    const argument = value[key];
    switch (key) {
      case "Ref":
        return argument === "AWS::NoValue" ? noValue : ref(context, argument);
      case "Fn::GetAtt": {
        const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split(/\.(.*)/);
        return getAtt(context, id, attribute);
      }
      case "Fn::Join": {
        const [separator, items] = argument;
        return (resolve(context, items) as unknown[]).join(separator);
      }
      case "Fn::Sub": {
        const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
        const resolved = resolve(context, variables ?? {});
        return String(text).replace(/\$\{([^}!][^}]*)\}/g, (_match, name: string) => {
          if (name in resolved) return String(resolved[name]);
          if (name.includes(".")) {
            const [id, attribute] = name.split(/\.(.*)/) as [string, string];
            return String(getAtt(context, id, attribute));
          }
          return String(ref(context, name));
        });
      }
      case "Fn::Select": {
        const [index, items] = resolve(context, argument);
        return items[Number(index)];
      }
      case "Fn::Split": {
        const [separator, text] = resolve(context, argument);
        return String(text).split(separator);
      }
      case "Fn::If": {
        const [condition, whenTrue, whenFalse] = argument;
        return resolve(context, context.condition(condition) ? whenTrue : whenFalse);
      }
      case "Fn::Equals": {
        const [left, right] = resolve(context, argument);
        return JSON.stringify(left) === JSON.stringify(right);
      }
      case "Fn::Not":
        return !resolve(context, argument[0]);
      case "Fn::And":
        return (argument as Json[]).every((item) => resolve(context, item));
      case "Fn::Or":
        return (argument as Json[]).some((item) => resolve(context, item));
      case "Condition":
        return context.condition(argument);
      case "Fn::GetAZs":
        return ["a", "b", "c"].map((suffix) => `${context.pseudo["AWS::Region"]}${suffix}`);
      case "Fn::Base64":
        return Buffer.from(String(resolve(context, argument))).toString("base64");
      case "Fn::FindInMap": {
        const [map, top, second] = resolve(context, argument);
        return context.mappings[map]?.[top]?.[second];
      }
      case "Fn::ImportValue":
        return `import:${resolve(context, argument)}`;
      case "Fn::Cidr":
        return ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"];
      default:
        break;
    }
  }
  const output: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const resolved = resolve(context, item);
    if (resolved !== noValue && resolved !== undefined) output[key] = resolved;
  }
  return output;
}

const noValue = Symbol("AWS::NoValue");

export function createAlarmsFromTemplate(sim: Sim, kind: "metric" | "composite", props: Json) {
  const alarm = kind === "metric" ? putMetricAlarm(sim, props) : putCompositeAlarm(sim, props);
  return { ref: alarm.AlarmName, attributes: { Arn: alarm.AlarmArn } };
}
