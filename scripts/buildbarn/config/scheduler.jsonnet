// bb_scheduler: one platform queue, predeclared for the worker's instance name prefix and platform, so
// Execute waits for the worker instead of failing while it connects.
local c = import 'common.libsonnet';
{
  clientGrpcServers: [{ listenAddresses: [c.schedulerClientAddr], authenticationPolicy: c.allow }],
  workerGrpcServers: [{ listenAddresses: [c.schedulerWorkerAddr], authenticationPolicy: c.allow }],
  adminHttpServers: [{ listenAddresses: [c.schedulerAdminAddr], authenticationPolicy: c.allow }],
  // The build queue's state (platform queues, workers, operations) over gRPC: what goma doctor reads.
  buildQueueStateGrpcServers: [{ listenAddresses: [c.buildQueueStateAddr], authenticationPolicy: c.allow }],
  browserUrl: c.browserUrl,
  contentAddressableStorage: { grpc: { client: { address: c.frontendAddr } } },
  maximumMessageSizeBytes: c.maxMsg,
  global: c.diag(c.diagPort.scheduler),
  executeAuthorizer: c.allow,
  modifyDrainsAuthorizer: c.allow,
  killOperationsAuthorizer: c.allow,
  synchronizeAuthorizer: c.allow,
  actionRouter: {
    simple: {
      platformKeyExtractor: { action: {} },  // Action.platform only (Command.platform is ignored)
      invocationKeyExtractors: [{ correlatedInvocationsId: {} }, { toolInvocationId: {} }],
      initialSizeClassAnalyzer: { defaultExecutionTimeout: '600s', maximumExecutionTimeout: '3600s' },
    },
  },
  platformQueueWithNoWorkersTimeout: c.noWorkersTimeout,
  predeclaredPlatformQueues: [{
    instanceNamePrefix: c.instanceNamePrefix,
    platform: c.workerPlatform,
    sizeClasses: [0],
  }],
}
