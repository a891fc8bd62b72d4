import { run } from "../actions/check-tags.ts";
import { runAction } from "../actions/shell.ts";

await runAction(run);
