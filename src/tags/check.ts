import type { Reporter } from "../report/reporter.ts";
import { type AccountRead, type ReadAccountOptions, readAccount } from "./account.ts";
import type { CheckOptions, Finding } from "./model.ts";
import { evaluate } from "./rules.ts";

/** check-tags as one value: read the account (batched, bounded), then run every rule over what was read. */
export interface TagCheckResult extends AccountRead {
  findings: Finding[];
}

export async function checkTags(
  read: ReadAccountOptions,
  options: CheckOptions,
  reporter: Reporter,
): Promise<TagCheckResult> {
  const scope = `${read.clusters.length ? read.clusters.join(", ") : "every cluster"} / ${read.services.length ? read.services.join(", ") : "every service"}`;
  const { snapshot, statistics } = await reporter.group(`Reading ${scope}`, async () => {
    const result = await readAccount(read);
    const { snapshot: found, statistics: cost } = result;
    reporter.info(
      `${found.clusters.length} clusters, ${found.services.length} services, ${found.tasks.length} running tasks, ${Object.keys(found.taskDefinitions).length} task definition revisions, ${Object.keys(found.images).length} images`,
    );
    reporter.info(
      `${cost.total} API calls (theoretical minimum ${cost.minimum}, ${cost.throttled} retried after throttling) in ${cost.wallMs} ms: ${Object.entries(
        cost.calls,
      )
        .map(([operation, count]) => `${operation} ${count}`)
        .join(", ")}`,
    );
    return result;
  });
  const findings = evaluate(snapshot, options);
  return { snapshot, statistics, findings };
}
