import { run } from "../actions/scan.ts";
import { runAction } from "../actions/shell.ts";

await runAction(run);
