import { runAction } from "../actions/shell.ts";
import { run } from "../actions/ship.ts";

await runAction(run);
