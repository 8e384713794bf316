import { App, Validations } from 'aws-cdk-lib/core';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MessagingStack } from './messaging-stack.js';
import { findProjectRoot } from './project-root.js';
import { readStageConfig, StageConfigError } from './stage-config.js';

/*
 * The CDK app (cdk.json runs the compiled dist/cdk/infra/app.js). The stack is environment-agnostic:
 * account and region come from the credentials `cdk deploy` uses, and nothing is looked up at synth.
 */
const app = new App();
// AWS's published rules for production stacks: a finding not acknowledged in code fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
try {
  const config = readStageConfig(app.node);
  new MessagingStack(app, config.stackName, {
    config,
    projectRoot: findProjectRoot(),
    description: `cruddur-messaging (${config.stage}): messages table, stream projector, API service`,
    tags: { project: 'cruddur-messaging', stage: config.stage },
  });
  app.synth();
} catch (error) {
  if (!(error instanceof StageConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
