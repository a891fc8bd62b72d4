/**
 * Stand-ins for the AWS services the simulator does not model.
 *
 * A task definition synthesized for AWS points at resources the simulator only accepts and lists as unmodelled:
 * `DATABASE_HOST` is an RDS endpoint (provisioning resolves `Fn::GetAtt` of an unmodelled resource to the
 * placeholder `<logicalId>-<hex>.<Attribute>`), a password is a Secrets Manager `valueFrom`, `MQTT_URL` is an IoT
 * Core endpoint. Stand-ins say which local service plays each part: environment variables the data plane sets on a
 * container when it launches it, over the task definition's `environment` and `secrets` and RunTask's overrides.
 *
 * This is not AWS behaviour and it is not hidden: DescribeTaskDefinition and DescribeTasks still show what was
 * registered; only the process sees the stand-in values.
 */

export interface ContainerIdentity {
  containerName: string;
  family: string;
  clusterName: string;
  serviceName?: string;
}

export type StandInValues = Record<string, string>;

export interface StandIns {
  /**
   * Per container name (`api`, `web`; `*` for every container): variables to set, e.g. `{api: {DATABASE_HOST: "127.0.0.1",
   * DATABASE_PASSWORD: "…"}}`. A variable that a task definition gives as a secret is set from here too.
   */
  byContainer?: Record<string, StandInValues>;
  /** Computed at each launch, after `byContainer` (e.g. a URL known only once a listener is open). */
  resolve?: (container: ContainerIdentity) => StandInValues | undefined;
}

export function standInEnvironment(
  standIns: StandIns | undefined,
  container: ContainerIdentity,
): StandInValues {
  if (!standIns) return {};
  return {
    ...(standIns.byContainer?.["*"] ?? {}),
    ...(standIns.byContainer?.[container.containerName] ?? {}),
    ...(standIns.resolve?.(container) ?? {}),
  };
}

/**
 * `NAME=VALUE` or `container:NAME=VALUE` pairs (the `--stand-in` flag of `sim start`) → `byContainer`; without a
 * container the variable applies to every container (key `*`).
 */
export function parseStandIns(pairs: readonly string[]): StandIns {
  const byContainer: Record<string, StandInValues> = {};
  for (const pair of pairs) {
    const match = /^(?:([A-Za-z0-9_-]+):)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!match) {
      throw new Error(
        `stand-in '${pair}' is not [container:]NAME=VALUE; pass e.g. api:DATABASE_HOST=127.0.0.1`,
      );
    }
    const [, container = "*", name, value] = match as unknown as [string, string | undefined, string, string];
    byContainer[container] = { ...(byContainer[container] ?? {}), [name]: value };
  }
  return { byContainer };
}
