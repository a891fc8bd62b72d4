import type { DeploymentGroupInfo } from "@aws-sdk/client-codedeploy";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { ToolkitError } from "../errors.ts";

/** The URL of the deployment group's test listener, where green answers before production traffic moves. */
export async function testListenerUrl(
  elb: ElasticLoadBalancingV2Client,
  group: DeploymentGroupInfo,
): Promise<string> {
  const listenerArn =
    group.loadBalancerInfo?.targetGroupPairInfoList?.[0]?.testTrafficRoute?.listenerArns?.[0];
  if (!listenerArn) {
    throw new ToolkitError(
      `deployment group ${group.deploymentGroupName} has no test listener; smoke tests need one (or pass test-listener-url)`,
    );
  }
  const listener = (await elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })))
    .Listeners?.[0];
  if (!listener?.LoadBalancerArn) throw new ToolkitError(`test listener ${listenerArn} not found`);
  const loadBalancer = (
    await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener.LoadBalancerArn] }))
  ).LoadBalancers?.[0];
  if (!loadBalancer?.DNSName) throw new ToolkitError(`load balancer ${listener.LoadBalancerArn} not found`);
  const scheme = listener.Protocol === "HTTPS" ? "https" : "http";
  return `${scheme}://${loadBalancer.DNSName}:${listener.Port}`;
}
