/** CodeDeploy records as the simulator keeps them (plain data, persisted with the rest of the state). */

export const lifecycleEventNames = [
  "BeforeInstall",
  "Install",
  "AfterInstall",
  "AllowTestTraffic",
  "AfterAllowTestTraffic",
  "BeforeAllowTraffic",
  "AllowTraffic",
  "AfterAllowTraffic",
] as const;
export type LifecycleEventName = (typeof lifecycleEventNames)[number];
export const hookEvents = new Set<string>([
  "BeforeInstall",
  "AfterInstall",
  "AfterAllowTestTraffic",
  "BeforeAllowTraffic",
  "AfterAllowTraffic",
]);

/** Stages of the machine: the eight events, with the Ready wait and the termination wait in between. */
export type Stage = LifecycleEventName | "ReadyWait" | "TerminationWait" | "Cleanup" | "Done";
export const stageOrder: Stage[] = [
  "BeforeInstall",
  "Install",
  "AfterInstall",
  "AllowTestTraffic",
  "AfterAllowTestTraffic",
  "ReadyWait",
  "BeforeAllowTraffic",
  "AllowTraffic",
  "AfterAllowTraffic",
  "TerminationWait",
  "Cleanup",
  "Done",
];
export const rollbackStageOrder: Stage[] = ["AllowTraffic", "Cleanup", "Done"];

export interface LifecycleEvent {
  lifecycleEventName: LifecycleEventName;
  status: "Pending" | "InProgress" | "Succeeded" | "Failed" | "Skipped" | "Unknown";
  startTime?: number;
  endTime?: number;
  diagnostics?: { errorCode: string; scriptName: string; message: string; logTail: string };
}

export interface HookExecution {
  lifecycleEventHookExecutionId: string;
  deploymentId: string;
  lifecycleEventName: string;
  functionName: string;
  startedAt: number;
  status?: "Succeeded" | "Failed";
}

export interface AlarmConfiguration {
  enabled?: boolean;
  ignorePollAlarmFailure?: boolean;
  alarms?: Array<{ name: string }>;
}

export interface AutoRollbackConfiguration {
  enabled?: boolean;
  events?: string[];
}

export interface Deployment {
  deploymentId: string;
  applicationName: string;
  deploymentGroupName: string;
  deploymentConfigName: string;
  status: "Created" | "Queued" | "InProgress" | "Baking" | "Succeeded" | "Failed" | "Stopped" | "Ready";
  creator: string;
  description?: string;
  createTime: number;
  startTime?: number;
  completeTime?: number;
  // biome-ignore lint/suspicious/noExplicitAny: the revision as given
  revision: any;
  errorInformation?: { code: string; message: string };
  rollbackInfo?: {
    rollbackDeploymentId?: string;
    rollbackTriggeringDeploymentId?: string;
    rollbackMessage?: string;
  };
  instanceTerminationWaitTimeStarted: boolean;
  autoRollbackConfiguration: AutoRollbackConfiguration;
  alarmConfiguration: AlarmConfiguration;
  overrideAlarmConfiguration?: AlarmConfiguration;
  // biome-ignore lint/suspicious/noExplicitAny: copied from the group
  blueGreenDeploymentConfiguration: any;
  // biome-ignore lint/suspicious/noExplicitAny: copied from the group
  loadBalancerInfo: any;
  statusMessages: string[];
  /** The ECS target. */
  clusterName: string;
  serviceName: string;
  serviceArn: string;
  taskDefinitionArn: string;
  containerName: string;
  containerPort: number;
  hooks: Record<string, string>;
  events: LifecycleEvent[];
  stage: Stage;
  stageStartedAt: number;
  deadline?: number;
  blueTaskSetId?: string;
  greenTaskSetId?: string;
  blueTargetGroupArn?: string;
  greenTargetGroupArn?: string;
  prodListenerArn?: string;
  testListenerArn?: string;
  greenWeight: number;
  nextAlarmPoll?: number;
  continued: Record<string, boolean>;
  lastUpdatedAt: number;
  /** Set on a rollback deployment: the deployment it rolls back. */
  rollbackOf?: string;
  /** Task set snapshots for GetDeploymentTarget once the sets are gone. */
  // biome-ignore lint/suspicious/noExplicitAny: ECSTaskSet shapes
  taskSetsInfo?: any[];
}

export const activeStatuses = new Set(["Created", "Queued", "InProgress", "Ready", "Baking"]);
export const isActive = (deployment: Deployment): boolean => activeStatuses.has(deployment.status);
