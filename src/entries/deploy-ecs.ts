import { run } from "../actions/deploy-ecs.ts";
import { runAction } from "../actions/shell.ts";

await runAction(run);
