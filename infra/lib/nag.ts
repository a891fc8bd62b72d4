import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** One acknowledged cdk-nag finding: the rule (or rule[finding]) id, why, and the construct it is recorded on. */
export interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
  readonly path: string;
}

/** Acknowledges cdk-nag findings on a construct; every acknowledgement carries its reason. */
export function acknowledge(scope: IConstruct, ...findings: { id: string; reason: string }[]): void {
  for (const finding of findings) {
    if (finding.reason.trim().length < 20) {
      throw new Error(`acknowledgement ${finding.id} has no real reason; say why the finding is accepted`);
    }
  }
  Validations.of(scope).acknowledge(...findings);
}

/** Every acknowledgement recorded under root, in tree order. */
export function listAcknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        // CDK records ids without a known prefix as `Annotation::<id>`; cdk-nag matches the bare rule id.
        found.push({
          id: id.replace(/^annotation::(?=AwsSolutions-)/i, ""),
          reason,
          path: construct.node.path,
        });
      }
    }
  }
  return found;
}
