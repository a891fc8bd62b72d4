import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { memoryReporter } from "../report/reporter.ts";
import { ecrCredentials, registryCredentials } from "./registry-auth.ts";
import { parseRepository } from "./repository.ts";

const ecr = mockClient(ECRClient);
const repository = parseRepository("123456789012.dkr.ecr.ca-central-1.amazonaws.com/valmetal/api");
const token = Buffer.from("AWS:eyJwYXlsb2FkIjoic2VjcmV0In0=").toString("base64");

describe("ECR token exchange", () => {
  beforeEach(() => ecr.reset());

  it("asks GetAuthorizationToken for the repository's registry and masks the password before returning it", async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        {
          authorizationToken: token,
          expiresAt: new Date("2026-11-25T12:00:00Z"),
          proxyEndpoint: "https://123456789012.dkr.ecr.ca-central-1.amazonaws.com",
        },
      ],
    });
    const reporter = memoryReporter();
    const credentials = await ecrCredentials(new ECRClient({ region: "ca-central-1" }), repository, reporter);
    expect(credentials).toEqual({ username: "AWS", password: "eyJwYXlsb2FkIjoic2VjcmV0In0=" });
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)[0]?.args[0].input).toEqual({
      registryIds: ["123456789012"],
    });
    expect(reporter.secrets).toContain("eyJwYXlsb2FkIjoic2VjcmV0In0=");
    expect(reporter.secrets).toContain(token);
  });

  it("turns a refusal into one error naming the permission", async () => {
    ecr.on(GetAuthorizationTokenCommand).rejects(
      Object.assign(new Error("User is not authorized to perform: ecr:GetAuthorizationToken"), {
        name: "AccessDeniedException",
      }),
    );
    await expect(
      ecrCredentials(new ECRClient({ region: "ca-central-1" }), repository, memoryReporter()),
    ).rejects.toThrow(
      /^ECR GetAuthorizationToken refused for 123456789012\.dkr\.ecr\.ca-central-1\.amazonaws\.com: AccessDeniedException: .* the role needs ecr:GetAuthorizationToken/,
    );
  });

  it("fails on an empty answer instead of pushing anonymously", async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [] });
    await expect(
      ecrCredentials(new ECRClient({ region: "ca-central-1" }), repository, memoryReporter()),
    ).rejects.toThrow("returned no token");
  });

  it("masks a registry password given as input, and uses no credentials anonymously", async () => {
    const reporter = memoryReporter();
    expect(
      await registryCredentials({ kind: "password", username: "u", password: "p" }, repository, reporter),
    ).toEqual({
      username: "u",
      password: "p",
    });
    expect(reporter.secrets).toEqual(["p"]);
    expect(await registryCredentials({ kind: "anonymous" }, repository, reporter)).toBeUndefined();
  });
});
