// bb_worker: a native (hard-linking) build directory on this host, one runner reached over a unix socket.
// start.sh --workers N starts N of these, each with its own BB_WORKER_DIR, BB_WORKER_ID and diagnostics port.
local c = import 'common.libsonnet';
{
  blobstore: {
    contentAddressableStorage: { grpc: { client: { address: c.frontendAddr } } },
    actionCache: { grpc: { client: { address: c.frontendAddr } } },  // the worker writes results here
  },
  browserUrl: c.browserUrl,
  maximumMessageSizeBytes: c.maxMsg,
  scheduler: { address: c.schedulerWorkerAddr },
  global: c.diag(c.componentDiagPort) { setUmask: { umask: 0 } },
  buildDirectories: [{
    native: {
      buildDirectoryPath: c.workerDir + '/build',
      cacheDirectoryPath: c.workerDir + '/cache',  // same file system as the build directory
      maximumCacheFileCount: 10000,
      maximumCacheSizeBytes: 1024 * 1024 * 1024,
      cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
    },
    runners: [{
      endpoint: { address: 'unix://' + c.workerDir + '/runner.sock' },
      concurrency: 2,  // the machines have 2 cores
      instanceNamePrefix: c.instanceNamePrefix,
      platform: c.workerPlatform,  // must equal Action.platform exactly
      environmentVariables: { PATH: '/usr/local/bin:/usr/bin:/bin' },  // the Command's env overrides it
      maximumFilePoolFileCount: 10000,
      maximumFilePoolSizeBytes: 256 * 1024 * 1024,
      workerId: { host: 'localhost', worker: c.workerId },  // ActionResult.execution_metadata.worker names it
    }],
  }],
  filePool: { blockDevice: { file: { path: c.workerDir + '/filepool', sizeBytes: 512 * 1024 * 1024 } } },
  inputDownloadConcurrency: 10,
  outputUploadConcurrency: 11,
  directoryCache: { maximumCount: 1000, maximumSizeBytes: 1024 * 1024, cacheReplacementPolicy: 'LEAST_RECENTLY_USED' },
}
