// The CDK app: `npm run synth` (node bin/app.ts) or `npx cdk synth` (cdk.json runs this file). Offline: no lookups.
import { relative } from "node:path";
import { synthesize } from "../lib/synthesize.ts";

const result = synthesize({ env: process.env });
for (const [key, path] of Object.entries(result.templates)) {
  process.stderr.write(`${key.padEnd(8)} ${relative(process.cwd(), path)}\n`);
}
process.stderr.write(`${result.acknowledgements.length} cdk-nag findings acknowledged, none open\n`);
