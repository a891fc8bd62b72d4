// The typed configuration of the reference platform: one place for account ids, sizes and per-environment
// behaviour. Defaults are placeholders (documentation account ids, example domains); real values come from CDK
// context (`-c key=value` or cdk.json) or from VALMETAL_* environment variables, see resolveConfig.

export const APPLICATION = "valmetal";
export const ENVIRONMENT_NAMES = ["dev", "staging", "prod"] as const;
export const COMPONENT_NAMES = ["api", "web"] as const;

export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/** How CodeDeploy shifts production traffic from blue to green. */
export type TrafficShift = "all-at-once" | "linear-10-percent-every-1-minute" | "canary-10-percent-5-minutes";

export interface ComponentSettings {
  /** Fargate task size: cpu units and MiB, a valid Fargate pair. */
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly desiredCount: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Target average CPU utilisation (percent) for target-tracking scaling. */
  readonly targetCpuPercent: number;
}

export interface AlarmSettings {
  /** Target 5XX responses per minute on one target group that stop a deployment. */
  readonly target5xxPerMinute: number;
  /** p95 TargetResponseTime (seconds) that stops a deployment. */
  readonly p95LatencySeconds: number;
  /** Consecutive one-minute periods before an alarm fires. */
  readonly evaluationPeriods: number;
}

export interface DatabaseSettings {
  /** RDS instance class without the `db.` prefix, e.g. t4g.micro. */
  readonly instanceType: string;
  readonly multiAz: boolean;
  readonly allocatedStorageGiB: number;
  readonly maxAllocatedStorageGiB: number;
  readonly backupRetentionDays: number;
  readonly deletionProtection: boolean;
}

export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  readonly account: string;
  readonly vpcCidr: string;
  readonly natGateways: number;
  readonly database: DatabaseSettings;
  readonly components: Readonly<Record<ComponentName, ComponentSettings>>;
  readonly trafficShift: TrafficShift;
  /** Minutes blue keeps running after 100% of the traffic is on green (rollback still possible). */
  readonly terminationWaitMinutes: number;
  readonly alarms: AlarmSettings;
  readonly logRetentionDays: number;
  /** DNS zone of the environment: components answer on `<component>.<domainName>`. */
  readonly domainName: string;
  /** Optional Route 53 zone (id + name) in the environment account; alias records are created when set. */
  readonly hostedZone?: { readonly id: string; readonly name: string };
  /** ACM certificate (in the environment account and region) covering `*.<domainName>`. */
  readonly certificateArn: string;
  /** CIDRs allowed to reach the test listener (smoke tests during a blue/green deployment). */
  readonly testListenerCidrs: readonly string[];
  /** AWS IoT Core data endpoint of the environment account, as the api's MQTT_URL. */
  readonly mqttUrl: string;
  /** An existing GitHub OIDC provider in the account; when unset the stack creates one. */
  readonly githubOidcProviderArn?: string;
}

export interface PlatformConfig {
  readonly application: typeof APPLICATION;
  readonly region: string;
  readonly availabilityZones: readonly [string, string];
  /** Account holding the ECR repositories. */
  readonly sharedAccount: string;
  /** `owner/repo` of the GitHub repository whose environments may assume the deploy roles. */
  readonly githubRepository: string;
  /** Ports of the load balancers. */
  readonly ports: { readonly production: number; readonly redirect: number; readonly test: number };
  readonly containerPort: number;
  readonly ecrLifecycle: { readonly untaggedDays: number; readonly keepImagesPerEnvironment: number };
  readonly environments: Readonly<Record<EnvironmentName, EnvironmentConfig>>;
}

const small: ComponentSettings = {
  cpu: 256,
  memoryMiB: 512,
  desiredCount: 1,
  minCapacity: 1,
  maxCapacity: 2,
  targetCpuPercent: 60,
};

function placeholderCertificate(account: string, region: string): string {
  return `arn:aws:acm:${region}:${account}:certificate/00000000-0000-4000-8000-000000000000`;
}

/** The committed defaults: placeholder accounts 111111111111 (shared), 222… (dev), 333… (staging), 444… (prod). */
export function defaultConfig(): PlatformConfig {
  const region = "ca-central-1";
  return {
    application: APPLICATION,
    region,
    availabilityZones: ["ca-central-1a", "ca-central-1b"],
    sharedAccount: "111111111111",
    githubRepository: "valmetal/farm-platform",
    ports: { production: 443, redirect: 80, test: 8443 },
    containerPort: 8080,
    ecrLifecycle: { untaggedDays: 7, keepImagesPerEnvironment: 30 },
    environments: {
      dev: {
        name: "dev",
        account: "222222222222",
        vpcCidr: "10.10.0.0/16",
        natGateways: 1,
        database: {
          instanceType: "t4g.micro",
          multiAz: false,
          allocatedStorageGiB: 20,
          maxAllocatedStorageGiB: 50,
          backupRetentionDays: 1,
          deletionProtection: false,
        },
        components: { api: small, web: small },
        trafficShift: "all-at-once",
        terminationWaitMinutes: 5,
        alarms: { target5xxPerMinute: 10, p95LatencySeconds: 2, evaluationPeriods: 2 },
        logRetentionDays: 14,
        domainName: "dev.valmetal.example.com",
        certificateArn: placeholderCertificate("222222222222", region),
        testListenerCidrs: ["10.10.0.0/16"],
        mqttUrl: `wss://example-ats.iot.${region}.amazonaws.com/mqtt`,
      },
      staging: {
        name: "staging",
        account: "333333333333",
        vpcCidr: "10.20.0.0/16",
        natGateways: 1,
        database: {
          instanceType: "t4g.small",
          multiAz: false,
          allocatedStorageGiB: 20,
          maxAllocatedStorageGiB: 100,
          backupRetentionDays: 7,
          deletionProtection: false,
        },
        components: { api: { ...small, maxCapacity: 4 }, web: { ...small, maxCapacity: 4 } },
        trafficShift: "linear-10-percent-every-1-minute",
        terminationWaitMinutes: 15,
        alarms: { target5xxPerMinute: 5, p95LatencySeconds: 1.5, evaluationPeriods: 2 },
        logRetentionDays: 30,
        domainName: "staging.valmetal.example.com",
        certificateArn: placeholderCertificate("333333333333", region),
        testListenerCidrs: ["10.20.0.0/16"],
        mqttUrl: `wss://example-ats.iot.${region}.amazonaws.com/mqtt`,
      },
      prod: {
        name: "prod",
        account: "444444444444",
        vpcCidr: "10.30.0.0/16",
        natGateways: 2,
        database: {
          instanceType: "m7g.large",
          multiAz: true,
          allocatedStorageGiB: 100,
          maxAllocatedStorageGiB: 500,
          backupRetentionDays: 14,
          deletionProtection: true,
        },
        components: {
          api: {
            cpu: 512,
            memoryMiB: 1024,
            desiredCount: 2,
            minCapacity: 2,
            maxCapacity: 10,
            targetCpuPercent: 60,
          },
          web: {
            cpu: 256,
            memoryMiB: 512,
            desiredCount: 2,
            minCapacity: 2,
            maxCapacity: 6,
            targetCpuPercent: 60,
          },
        },
        trafficShift: "canary-10-percent-5-minutes",
        terminationWaitMinutes: 60,
        alarms: { target5xxPerMinute: 5, p95LatencySeconds: 1, evaluationPeriods: 2 },
        logRetentionDays: 90,
        domainName: "valmetal.example.com",
        certificateArn: placeholderCertificate("444444444444", region),
        testListenerCidrs: ["10.30.0.0/16"],
        mqttUrl: `wss://example-ats.iot.${region}.amazonaws.com/mqtt`,
      },
    },
  };
}

/** Reads one context value; returns undefined when it is not set. */
export type ContextReader = (key: string) => unknown;

const ACCOUNT_ID = /^\d{12}$/;
const GITHUB_REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

function text(read: ContextReader, env: NodeJS.ProcessEnv, key: string, envKey: string): string | undefined {
  const fromContext = read(key);
  if (fromContext !== undefined && fromContext !== null && String(fromContext) !== "")
    return String(fromContext);
  const fromEnv = env[envKey];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

function account(value: string, what: string): string {
  if (!ACCOUNT_ID.test(value)) {
    throw new Error(
      `${what} '${value}' is not a 12-digit AWS account id; pass the account id, e.g. 123456789012`,
    );
  }
  return value;
}

/**
 * Applies overrides to the defaults. Context keys (cdk.json or `-c`) win over environment variables:
 * `sharedAccount` / VALMETAL_SHARED_ACCOUNT, `githubRepository` / VALMETAL_GITHUB_REPOSITORY, and per
 * environment `<env>Account`, `<env>CertificateArn`, `<env>MqttUrl`, `<env>DomainName`,
 * `<env>GithubOidcProviderArn` / VALMETAL_<ENV>_ACCOUNT, VALMETAL_<ENV>_CERTIFICATE_ARN, VALMETAL_<ENV>_MQTT_URL,
 * VALMETAL_<ENV>_DOMAIN_NAME, VALMETAL_<ENV>_GITHUB_OIDC_PROVIDER_ARN.
 */
export function resolveConfig(
  read: ContextReader = () => undefined,
  env: NodeJS.ProcessEnv = {},
): PlatformConfig {
  const base = defaultConfig();
  const sharedAccount = account(
    text(read, env, "sharedAccount", "VALMETAL_SHARED_ACCOUNT") ?? base.sharedAccount,
    "sharedAccount",
  );
  const githubRepository =
    text(read, env, "githubRepository", "VALMETAL_GITHUB_REPOSITORY") ?? base.githubRepository;
  if (!GITHUB_REPOSITORY.test(githubRepository)) {
    throw new Error(
      `githubRepository '${githubRepository}' is not owner/repo; pass it as e.g. valmetal/farm-platform`,
    );
  }
  const environments = {} as Record<EnvironmentName, EnvironmentConfig>;
  for (const name of ENVIRONMENT_NAMES) {
    const current = base.environments[name];
    const upper = name.toUpperCase();
    const envAccount = account(
      text(read, env, `${name}Account`, `VALMETAL_${upper}_ACCOUNT`) ?? current.account,
      `${name}Account`,
    );
    const oidc = text(
      read,
      env,
      `${name}GithubOidcProviderArn`,
      `VALMETAL_${upper}_GITHUB_OIDC_PROVIDER_ARN`,
    );
    environments[name] = {
      ...current,
      account: envAccount,
      certificateArn:
        text(read, env, `${name}CertificateArn`, `VALMETAL_${upper}_CERTIFICATE_ARN`) ??
        (envAccount === current.account
          ? current.certificateArn
          : placeholderCertificate(envAccount, base.region)),
      mqttUrl: text(read, env, `${name}MqttUrl`, `VALMETAL_${upper}_MQTT_URL`) ?? current.mqttUrl,
      domainName: text(read, env, `${name}DomainName`, `VALMETAL_${upper}_DOMAIN_NAME`) ?? current.domainName,
      ...(oidc === undefined ? {} : { githubOidcProviderArn: oidc }),
    };
  }
  const accounts = [sharedAccount, ...ENVIRONMENT_NAMES.map((name) => environments[name].account)];
  if (new Set(accounts).size !== accounts.length) {
    throw new Error(
      `accounts ${accounts.join(", ")} are not distinct; give shared, dev, staging and prod their own accounts`,
    );
  }
  return { ...base, sharedAccount, githubRepository, environments };
}

/** `<application>-<environment>-<component>`, the name of clusters, services, task families and alarms' prefix. */
export function resourceName(environment: EnvironmentName, component: string): string {
  return `${APPLICATION}-${environment}-${component}`;
}

/** ECR repository of a component in the shared account: `valmetal/<component>`. */
export function repositoryName(component: ComponentName): string {
  return `${APPLICATION}/${component}`;
}

/** IAM role names the deploy role may pass and the shared repositories let pull. */
export function taskRoleName(environment: EnvironmentName, component: ComponentName): string {
  return `${resourceName(environment, component)}-task`;
}

export function executionRoleName(environment: EnvironmentName, component: ComponentName): string {
  return `${resourceName(environment, component)}-execution`;
}

export function deployRoleName(environment: EnvironmentName): string {
  return `${resourceName(environment, "github-deploy")}`;
}

export function tagCheckRoleName(environment: EnvironmentName): string {
  return `${resourceName(environment, "github-tag-check")}`;
}

/** Bootstrap image version: context `version` (40-hex SHA) or the tail of context `imageTag`. */
export const BOOTSTRAP_VERSION = "0000000000000000000000000000000000000000";
const SHA = /^[0-9a-f]{40}$/;

export interface ImageVersion {
  readonly version: string;
  readonly imageTag: string;
}

export function imageVersion(environment: EnvironmentName, read: ContextReader): ImageVersion {
  const tag = read("imageTag");
  const sha = read("version");
  if (tag !== undefined && tag !== null && String(tag) !== "") {
    const value = String(tag);
    const match = /^(?:([a-z]+)-)?([0-9a-f]{40})$/.exec(value);
    if (!match?.[2]) {
      throw new Error(
        `imageTag '${value}' is not <env>-<40-hex sha>; pass e.g. -c imageTag=dev-${BOOTSTRAP_VERSION}`,
      );
    }
    return { version: match[2], imageTag: `${environment}-${match[2]}` };
  }
  const version = sha === undefined || sha === null || String(sha) === "" ? BOOTSTRAP_VERSION : String(sha);
  if (!SHA.test(version)) {
    throw new Error(
      `version '${version}' is not a 40-character hex commit SHA; pass the full SHA (git rev-parse HEAD)`,
    );
  }
  return { version, imageTag: `${environment}-${version}` };
}
