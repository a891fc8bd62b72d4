import { ECRClient } from "@aws-sdk/client-ecr";

/**
 * Every AWS client the toolkit uses is built here: the standard credential chain (OIDC through
 * aws-actions/configure-aws-credentials on GitHub), adaptive retries for throttling, and the endpoint from the SDK's
 * own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables, so the simulator needs no code path of its own.
 */
export interface AwsClientOptions {
  region?: string;
  maxAttempts?: number;
}

const defaults = (options: AwsClientOptions) => ({
  ...(options.region ? { region: options.region } : {}),
  retryMode: "adaptive" as const,
  maxAttempts: options.maxAttempts ?? 6,
});

export function ecrClient(options: AwsClientOptions = {}): ECRClient {
  return new ECRClient(defaults(options));
}
