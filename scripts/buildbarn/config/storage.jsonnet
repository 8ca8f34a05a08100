// bb_storage: CAS and action cache on local sparse files, and the frontend every client talks to
// (Execute goes on to the scheduler). One process, like bb-deployments' storage and frontend combined.
local c = import 'common.libsonnet';
{
  grpcServers: [{
    listenAddresses: [c.frontendAddr],
    authenticationPolicy: c.allow,
    maximumReceivedMessageSizeBytes: c.maxMsg,
  }],
  maximumMessageSizeBytes: c.maxMsg,
  global: c.diag(c.diagPort.storage),
  contentAddressableStorage: {
    // 1 GiB of blocks / 38 ≈ 27 MiB largest blob; sparse, so the disk holds only what is written.
    backend: c.localStore('cas', 16 * 1024 * 1024, 1024 * 1024 * 1024, 3),
    getAuthorizer: c.allow,
    putAuthorizer: c.allow,
    findMissingAuthorizer: c.allow,
  },
  actionCache: {
    backend: {
      // Hide action results whose outputs are no longer in the CAS.
      completenessChecking: {
        backend: c.localStore('ac', 1024 * 1024, 64 * 1024 * 1024, 1),
        maximumTotalTreeSizeBytes: 64 * 1024 * 1024,
      },
    },
    getAuthorizer: c.allow,
    putAuthorizer: c.allow,
  },
  // Every instance name (prefix '') goes to the one scheduler, with the client's RequestMetadata.
  schedulers: if !c.withScheduler then {} else {
    '': {
      endpoint: {
        address: c.schedulerClientAddr,
        addMetadataJmespathExpression: {
          expression: '{"build.bazel.remote.execution.v2.requestmetadata-bin": incomingGRPCMetadata."build.bazel.remote.execution.v2.requestmetadata-bin"}',
        },
      },
    },
  },
  executeAuthorizer: c.allow,
}
