import { RetentionDays } from "aws-cdk-lib/aws-logs";

const ALLOWED = new Set<number>(
  Object.values(RetentionDays).filter((value): value is number => typeof value === "number"),
);

/** CloudWatch Logs retention from a number of days; only the values CloudWatch accepts. */
export function retention(days: number): RetentionDays {
  if (!ALLOWED.has(days)) {
    throw new Error(
      `log retention of ${days} days is not one CloudWatch accepts; pick e.g. 14, 30, 90 or 365`,
    );
  }
  return days as RetentionDays;
}
