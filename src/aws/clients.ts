import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CodeDeployClient } from "@aws-sdk/client-codedeploy";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";

/**
 * Every AWS client the toolkit uses is built here: the standard credential chain (OIDC through
 * aws-actions/configure-aws-credentials on GitHub), adaptive retries for throttling, and the endpoint from the SDK's
 * own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables, so the simulator needs no code path of its own.
 */
export interface AwsClientOptions {
  region?: string;
  maxAttempts?: number;
}

const settings = (options: AwsClientOptions) => ({
  ...(options.region ? { region: options.region } : {}),
  retryMode: "adaptive" as const,
  maxAttempts: options.maxAttempts ?? 6,
});

export const ecrClient = (options: AwsClientOptions = {}) => new ECRClient(settings(options));
export const ecsClient = (options: AwsClientOptions = {}) => new ECSClient(settings(options));
export const codeDeployClient = (options: AwsClientOptions = {}) => new CodeDeployClient(settings(options));
export const cloudWatchClient = (options: AwsClientOptions = {}) => new CloudWatchClient(settings(options));
export const elbClient = (options: AwsClientOptions = {}) =>
  new ElasticLoadBalancingV2Client(settings(options));
