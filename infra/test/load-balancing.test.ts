import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, test } from "vitest";
import { COMPONENT_NAMES, ENVIRONMENT_NAMES } from "../lib/config.ts";
import { onlyResource, resourcesOf, type SynthesizedPlatform, synthesizePlatform } from "./platform.ts";

let synthesized: SynthesizedPlatform;
beforeAll(() => {
  synthesized = synthesizePlatform();
});

const cases = ENVIRONMENT_NAMES.flatMap((environment) =>
  COMPONENT_NAMES.map((component) => ({
    environment,
    component,
    name: `valmetal-${environment}-${component}`,
  })),
);

describe.each(cases)("$name behind its load balancer", ({ environment, name }) => {
  const template = () => synthesized.environments[environment];
  const logicalId = (type: string, match: (properties: Record<string, unknown>) => boolean) => {
    const found = resourcesOf(template(), type).filter(([, resource]) => match(resource.Properties ?? {}));
    expect(found).toHaveLength(1);
    return (found[0] as [string, unknown])[0];
  };

  test("blue and green target groups register IPs on 8080 and health-check /health", () => {
    for (const color of ["blue", "green"]) {
      template().hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
        Name: `${name}-${color}`,
        TargetType: "ip",
        Port: 8080,
        Protocol: "HTTP",
        HealthCheckPath: "/health",
        Matcher: { HttpCode: "200" },
      });
    }
  });

  test("the load balancer is internet-facing, drops invalid headers and writes access logs", () => {
    template().hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Name: name,
      Scheme: "internet-facing",
      LoadBalancerAttributes: Match.arrayWith([
        { Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" },
        { Key: "access_logs.s3.enabled", Value: "true" },
      ]),
    });
  });

  test("the production listener serves HTTPS on 443 from blue, and port 80 redirects to it", () => {
    const loadBalancer = logicalId("AWS::ElasticLoadBalancingV2::LoadBalancer", (p) => p.Name === name);
    const blue = logicalId("AWS::ElasticLoadBalancingV2::TargetGroup", (p) => p.Name === `${name}-blue`);
    template().hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      LoadBalancerArn: { Ref: loadBalancer },
      Port: 443,
      Protocol: "HTTPS",
      SslPolicy: Match.stringLikeRegexp("^ELBSecurityPolicy-TLS13"),
      Certificates: [{ CertificateArn: Match.stringLikeRegexp("^arn:aws:acm:") }],
      DefaultActions: [{ Type: "forward", TargetGroupArn: { Ref: blue } }],
    });
    template().hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      LoadBalancerArn: { Ref: loadBalancer },
      Port: 80,
      Protocol: "HTTP",
      DefaultActions: [
        { Type: "redirect", RedirectConfig: { Port: "443", Protocol: "HTTPS", StatusCode: "HTTP_301" } },
      ],
    });
  });

  test("the test listener serves green on 8443 and only to the configured CIDRs", () => {
    const loadBalancer = logicalId("AWS::ElasticLoadBalancingV2::LoadBalancer", (p) => p.Name === name);
    const green = logicalId("AWS::ElasticLoadBalancingV2::TargetGroup", (p) => p.Name === `${name}-green`);
    template().hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      LoadBalancerArn: { Ref: loadBalancer },
      Port: 8443,
      Protocol: "HTTPS",
      DefaultActions: [{ Type: "forward", TargetGroupArn: { Ref: green } }],
    });
    const securityGroup = onlyResource(
      template(),
      "AWS::EC2::SecurityGroup",
      (sg) => sg.Properties?.GroupName === `${name}-alb`,
    );
    const ingress = securityGroup.Properties?.SecurityGroupIngress as { CidrIp: string; FromPort: number }[];
    const allowed = synthesized.platform.config.environments[environment].testListenerCidrs;
    expect(ingress.filter((rule) => rule.FromPort === 8443).map((rule) => rule.CidrIp)).toEqual([...allowed]);
    expect(
      ingress
        .filter((rule) => rule.CidrIp === "0.0.0.0/0")
        .map((rule) => rule.FromPort)
        .sort(),
    ).toEqual([443, 80]);
  });

  test("the tasks accept traffic on 8080 from their load balancer only", () => {
    const albGroup = logicalId("AWS::EC2::SecurityGroup", (p) => p.GroupName === `${name}-alb`);
    const taskGroup = logicalId("AWS::EC2::SecurityGroup", (p) => p.GroupName === `${name}-tasks`);
    const ingress = resourcesOf(template(), "AWS::EC2::SecurityGroupIngress")
      .map(([, rule]) => rule.Properties ?? {})
      .filter((rule) => JSON.stringify(rule.GroupId).includes(taskGroup));
    expect(ingress).toEqual([
      expect.objectContaining({
        FromPort: 8080,
        ToPort: 8080,
        IpProtocol: "tcp",
        SourceSecurityGroupId: { "Fn::GetAtt": [albGroup, "GroupId"] },
      }),
    ]);
  });
});
