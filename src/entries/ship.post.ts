// The one-step action stops (or rolls back) its deployment when the job is cancelled, as deploy-ecs does.
import { runPost } from "../actions/deploy-ecs-post.ts";
import { runAction } from "../actions/shell.ts";

await runAction(runPost);
