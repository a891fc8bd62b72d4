import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App, DefaultStackSynthesizer, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import {
  APPLICATION,
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  imageVersion,
  type PlatformConfig,
  resolveConfig,
} from "./config.ts";
import { EnvironmentStack } from "./environment-stack.ts";
import { type Acknowledgement, listAcknowledgements } from "./nag.ts";
import { SharedStack } from "./shared-stack.ts";

export type StackKey = "shared" | EnvironmentName;
export const STACK_KEYS: readonly StackKey[] = ["shared", ...ENVIRONMENT_NAMES];

/** Stack names, stable: `valmetal-shared`, `valmetal-dev`, `valmetal-staging`, `valmetal-prod`. */
export function stackName(key: StackKey): string {
  return `${APPLICATION}-${key}`;
}

/** Template file names in the output folder, stable: `valmetal-<key>.template.json`. */
export function templateFileName(key: StackKey): string {
  return `${stackName(key)}.template.json`;
}

/** The folder that holds infra/ (this file lives in infra/lib/). */
export const INFRA_DIR = resolve(fileURLToPath(new URL("..", import.meta.url)));
/** Where `npm run synth` writes: infra/cdk.out (gitignored). */
export const DEFAULT_OUTDIR = join(INFRA_DIR, "cdk.out");

/** The committed context of cdk.json (feature flags and settings), so direct runs equal `cdk synth`. */
export function committedContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(INFRA_DIR, "cdk.json"), "utf8")) as { context?: object };
  return { ...(cdkJson.context ?? {}) };
}

export interface PlatformAppOptions {
  /** Output folder of the cloud assembly; default CDK_OUTDIR when the CDK CLI runs the app, else infra/cdk.out. */
  readonly outdir?: string;
  /** Extra context (overrides cdk.json), e.g. `{ version: "<sha>", devAccount: "123456789012" }`. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Environment variables read for VALMETAL_* overrides; default none (tests stay hermetic). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface PlatformApp {
  readonly app: App;
  readonly config: PlatformConfig;
  readonly shared: SharedStack;
  readonly environments: Readonly<Record<EnvironmentName, EnvironmentStack>>;
}

/** Builds the app (all four stacks, cdk-nag AwsSolutions registered) without synthesizing it. */
export function buildPlatformApp(options: PlatformAppOptions = {}): PlatformApp {
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    context: { ...committedContext(), ...(options.context ?? {}) },
    analyticsReporting: false,
  });
  const read = (key: string) => app.node.tryGetContext(key);
  const config = resolveConfig(read, options.env ?? {});
  // No bootstrap-version rule or parameter: the templates take no parameters at all (the simulator provisions
  // them as they are); deployments still go through the bootstrap roles of each account.
  const synthesizer = () => new DefaultStackSynthesizer({ generateBootstrapVersionRule: false });

  const shared = new SharedStack(app, stackName("shared"), {
    stackName: stackName("shared"),
    description: `${APPLICATION} shared account: ECR repositories of the components`,
    env: { account: config.sharedAccount, region: config.region },
    synthesizer: synthesizer(),
    terminationProtection: true,
    config,
  });
  Tags.of(shared).add("Environment", "shared");

  const environments = {} as Record<EnvironmentName, EnvironmentStack>;
  for (const name of ENVIRONMENT_NAMES) {
    const environment = config.environments[name];
    const stack = new EnvironmentStack(app, stackName(name), {
      stackName: stackName(name),
      description: `${APPLICATION} ${name}: network, database, api and web on ECS Fargate with blue/green CodeDeploy`,
      env: { account: environment.account, region: config.region },
      synthesizer: synthesizer(),
      terminationProtection: name === "prod",
      config,
      environment,
      image: imageVersion(name, read),
    });
    Tags.of(stack).add("Environment", name);
    environments[name] = stack;
  }
  Tags.of(app).add("Application", APPLICATION);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, shared, environments };
}

export interface SynthesisResult {
  /** Absolute output folder. */
  readonly outdir: string;
  /** Absolute template path per stack: shared, dev, staging, prod. */
  readonly templates: Readonly<Record<StackKey, string>>;
  /** Every acknowledged cdk-nag finding with its reason. */
  readonly acknowledgements: readonly Acknowledgement[];
}

/**
 * Synthesizes the four stacks offline and returns the template paths. Throws when cdk-nag reports an
 * unacknowledged finding (CDK policy validation). Also writes `templates.json` (stack key → file name) and
 * `nag-acknowledgements.json` into the output folder.
 */
export function synthesize(options: PlatformAppOptions = {}): SynthesisResult {
  const outdir = resolve(options.outdir ?? process.env.CDK_OUTDIR ?? DEFAULT_OUTDIR);
  const { app } = buildPlatformApp({ ...options, outdir });
  const assembly = app.synth();
  const templates = {} as Record<StackKey, string>;
  for (const key of STACK_KEYS) {
    const artifact = assembly.getStackByName(stackName(key));
    templates[key] = join(assembly.directory, artifact.templateFile);
  }
  const acknowledgements = listAcknowledgements(app);
  writeFileSync(
    join(assembly.directory, "templates.json"),
    `${JSON.stringify(Object.fromEntries(STACK_KEYS.map((key) => [key, templateFileName(key)])), null, 2)}\n`,
  );
  writeFileSync(
    join(assembly.directory, "nag-acknowledgements.json"),
    `${JSON.stringify(acknowledgements, null, 2)}\n`,
  );
  return { outdir: assembly.directory, templates, acknowledgements };
}
