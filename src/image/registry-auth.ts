import {
  type ECRClient,
  GetAuthorizationTokenCommand,
  type GetAuthorizationTokenCommandOutput,
} from "@aws-sdk/client-ecr";
import { ToolkitError } from "../errors.ts";
import type { Reporter } from "../report/reporter.ts";
import type { RegistryCredentials } from "./registry-client.ts";
import type { ImageRepository } from "./repository.ts";

export type RegistryLogin =
  | { kind: "ecr"; client: ECRClient }
  | { kind: "password"; username: string; password: string }
  | { kind: "anonymous" };

export class EcrAuthorizationError extends ToolkitError {}

/**
 * Exchanges AWS credentials for registry credentials through ecr:GetAuthorizationToken. The token decodes to
 * `AWS:<password>` and is valid for 12 hours; the password is registered as a secret before anything else happens.
 */
export async function ecrCredentials(
  client: ECRClient,
  repository: ImageRepository,
  reporter: Reporter,
): Promise<RegistryCredentials> {
  let response: GetAuthorizationTokenCommandOutput;
  try {
    response = await client.send(
      new GetAuthorizationTokenCommand(repository.ecr ? { registryIds: [repository.ecr.accountId] } : {}),
    );
  } catch (error) {
    const name = (error as Error).name;
    throw new EcrAuthorizationError(
      `ECR GetAuthorizationToken refused for ${repository.registry}: ${name}: ${(error as Error).message} — the role needs ecr:GetAuthorizationToken and AWS credentials must be configured (aws-actions/configure-aws-credentials)`,
      { cause: error },
    );
  }
  const token = response.authorizationData?.[0]?.authorizationToken;
  if (!token)
    throw new EcrAuthorizationError(`ECR GetAuthorizationToken returned no token for ${repository.registry}`);
  const decoded = Buffer.from(token, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new EcrAuthorizationError(`ECR GetAuthorizationToken returned a malformed token`);
  const credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  reporter.secret(credentials.password);
  reporter.secret(token);
  return credentials;
}

export async function registryCredentials(
  login: RegistryLogin,
  repository: ImageRepository,
  reporter: Reporter,
): Promise<RegistryCredentials | undefined> {
  switch (login.kind) {
    case "ecr":
      return ecrCredentials(login.client, repository, reporter);
    case "password":
      reporter.secret(login.password);
      return { username: login.username, password: login.password };
    case "anonymous":
      return undefined;
  }
}
