import { runPost } from "../actions/deploy-ecs-post.ts";
import { runAction } from "../actions/shell.ts";

await runAction(runPost);
