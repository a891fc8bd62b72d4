import { run } from "../actions/build-push.ts";
import { runAction } from "../actions/shell.ts";

await runAction(run);
