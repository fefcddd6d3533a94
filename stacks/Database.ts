import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as rds from "aws-cdk-lib/aws-rds";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { StackContext } from "sst/constructs";
import { stageConfig } from "./config";

/** Subnet group names: the Lambdas live in `app`, Aurora in `data`. */
export const APP_SUBNETS = "app";
export const DATA_SUBNETS = "data";
export const DATABASE_NAME = "leadpipe";
export const DATABASE_USER = "leadpipe";
/** Login roles created by migration 070 (sql/migrations/070_roles.sql): each has its own secret. */
export const READONLY_USER = "leadpipe_readonly";
export const PIPELINE_USER = "leadpipe_pipeline";
/** Created by migration 191: the console's pages and logins. */
export const CONSOLE_USER = "leadpipe_console";
/** The engine the tenant clusters run; the local runtime runs a newer PostgreSQL, never an older one. */
export const ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_5;

/**
 * The stateful half of a tenant: its network and its Aurora PostgreSQL Serverless v2 cluster.
 * Kept apart from the pipeline so the pipeline can be changed or replaced without touching data.
 *
 * Subnets: public (NAT gateways only), `app` (private with egress: the Lambdas) and `data`
 * (isolated: Aurora, no route out at all).
 */
export function Database({ stack, app }: StackContext) {
  const config = stageConfig(app.stage);
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  const vpc = new ec2.Vpc(stack, "Vpc", {
    maxAzs: config.network.maxAzs,
    natGateways: config.network.natGateways,
    subnetConfiguration: [
      { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: APP_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      { name: DATA_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
    // Landed files and chunk objects travel to S3 through the (free) gateway endpoint, not the NAT.
    gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    restrictDefaultSecurityGroup: true,
  });

  const functionSecurityGroup = new ec2.SecurityGroup(stack, "FunctionSecurityGroup", {
    vpc,
    description: "leadpipe Lambdas: reach Aurora on 5432 and AWS APIs through the NAT",
    allowAllOutbound: true,
  });

  const { minCapacity, maxCapacity, autoPauseMinutes, readers, backupRetentionDays } = config.database;
  const cluster = new rds.DatabaseCluster(stack, "Cluster", {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: ENGINE_VERSION }),
    credentials: rds.Credentials.fromGeneratedSecret(DATABASE_USER),
    defaultDatabaseName: DATABASE_NAME,
    vpc,
    vpcSubnets: { subnetGroupName: DATA_SUBNETS },
    serverlessV2MinCapacity: minCapacity,
    serverlessV2MaxCapacity: maxCapacity,
    ...(minCapacity === 0 ? { serverlessV2AutoPauseDuration: Duration.minutes(autoPauseMinutes) } : {}),
    writer: rds.ClusterInstance.serverlessV2("writer"),
    readers: Array.from({ length: readers }, (_, i) =>
      rds.ClusterInstance.serverlessV2(`reader${i + 1}`, { scaleWithWriter: true }),
    ),
    storageEncrypted: true,
    backup: { retention: Duration.days(backupRetentionDays) },
    copyTagsToSnapshot: true,
    deletionProtection: config.retainData,
    removalPolicy,
  });
  // The generated secret must outlive a retained cluster, or nobody can log in to it again.
  (cluster.node.findChild("Secret") as secretsmanager.Secret).applyRemovalPolicy(removalPolicy);
  cluster.connections.allowDefaultPortFrom(functionSecurityGroup, "leadpipe Lambdas");

  // The master user runs the migrations only. The Lambdas log in as the pipeline role, ad-hoc SQL as
  // the read-only role; their passwords are generated here and set by the migrate function.
  const roleSecret = (id: string, username: string) => {
    const secret = new rds.DatabaseSecret(stack, id, { username, dbname: DATABASE_NAME });
    secret.applyRemovalPolicy(removalPolicy);
    // Attached: the secret gains the cluster's host and port, as the master's has.
    return secret.attach(cluster);
  };
  const pipelineSecret = roleSecret("PipelineSecret", PIPELINE_USER);
  const readonlySecret = roleSecret("ReadonlySecret", READONLY_USER);
  const consoleSecret = roleSecret("ConsoleSecret", CONSOLE_USER);

  stack.addOutputs({
    ClusterEndpoint: cluster.clusterEndpoint.hostname,
    DatabaseSecretArn: cluster.secret!.secretArn,
    ReadonlySecretArn: readonlySecret.secretArn,
  });

  return {
    vpc,
    cluster,
    /** The master user's credentials and connection details (host, port, dbname, username, password) as JSON: migrations only. */
    secret: cluster.secret!,
    /** leadpipe_pipeline's: what every other Lambda logs in with. */
    pipelineSecret,
    /** leadpipe_readonly's: ad-hoc SQL. */
    readonlySecret,
    /** leadpipe_console's: the console's pages and logins. */
    consoleSecret,
    functionSecurityGroup,
  };
}
