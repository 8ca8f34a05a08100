// Values shared by the single-host Buildbarn of goma's integration tests (reference/reapi-buildbarn.md §4.4).
// Buildbarn evaluates these files itself: every environment variable of the process is a Jsonnet external
// variable, and scripts/buildbarn/start.sh sets the BB_* ones below. Every listener is on 127.0.0.1.
local env(name) = std.extVar(name);
local port(name) = std.parseInt(env(name));
{
  root: env('BB_ROOT'),  // absolute; state, sockets and build directories live beneath it
  frontendAddr: '127.0.0.1:' + port('BB_FRONTEND_PORT'),  // storage + frontend: what clients talk to
  schedulerClientAddr: '127.0.0.1:' + port('BB_SCHEDULER_CLIENT_PORT'),
  schedulerWorkerAddr: '127.0.0.1:' + port('BB_SCHEDULER_WORKER_PORT'),
  schedulerAdminAddr: '127.0.0.1:' + port('BB_SCHEDULER_ADMIN_PORT'),
  buildQueueStateAddr: '127.0.0.1:' + port('BB_BUILD_QUEUE_STATE_PORT'),
  // Set by start.sh for each process: its diagnostics port, and for a worker or runner its directory
  // (build/, cache/, filepool, runner.sock) and the worker id's "worker" label.
  componentDiagPort: port('BB_COMPONENT_DIAG_PORT'),
  workerDir: env('BB_WORKER_DIR'),
  workerId: env('BB_WORKER_ID'),
  diagPort: {
    storage: port('BB_STORAGE_DIAG_PORT'),
    scheduler: port('BB_SCHEDULER_DIAG_PORT'),
    worker: port('BB_WORKER_DIAG_PORT'),
    runner: port('BB_RUNNER_DIAG_PORT'),
  },
  // The worker's instance name prefix ('' serves every instance name) and its platform: a JSON array of
  // {name, value}, sorted by name then value (Buildbarn rejects unsorted properties).
  instanceNamePrefix: env('BB_INSTANCE_PREFIX'),
  workerPlatform: { properties: std.parseJson(env('BB_WORKER_PLATFORM_JSON')) },
  // How long after the scheduler starts an unknown platform gets UNAVAILABLE (clients retry) instead of
  // FAILED_PRECONDITION "No workers exist …".
  noWorkersTimeout: env('BB_NO_WORKERS_TIMEOUT'),
  // '0' for a cache-only Buildbarn (start.sh --storage-only): the frontend has no scheduler, so it does
  // not merge the scheduler's capabilities (which would fail while no scheduler runs).
  withScheduler: env('BB_WITH_SCHEDULER') == '1',
  maxMsg: 16 * 1024 * 1024,
  browserUrl: 'http://127.0.0.1:7984',  // no bb_browser runs; Buildbarn only prints links to it
  allow: { allow: {} },
  diag(port): {
    diagnosticsHttpServer: {
      httpServers: [{ listenAddresses: ['127.0.0.1:' + port], authenticationPolicy: { allow: {} } }],
      enablePrometheus: true,
    },
  },
  // One LocalBlobAccess on sparse files under storage/<name>/ (contents are dropped on restart: no
  // 'persistent' section). The largest blob is dataBytes / (8 + 24 + newBlocks + 3) blocks.
  localStore(name, mapBytes, dataBytes, newBlocks):: {
    'local': {
      keyLocationMapOnBlockDevice: { file: { path: $.root + '/storage/' + name + '/keys', sizeBytes: mapBytes } },
      keyLocationMapMaximumGetAttempts: 16,
      keyLocationMapMaximumPutAttempts: 64,
      oldBlocks: 8,
      currentBlocks: 24,
      newBlocks: newBlocks,
      blocksOnBlockDevice: {
        source: { file: { path: $.root + '/storage/' + name + '/blocks', sizeBytes: dataBytes } },
        spareBlocks: 3,
      },
    },
  },
}
