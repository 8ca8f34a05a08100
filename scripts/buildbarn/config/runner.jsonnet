// bb_runner: runs the worker's actions in the shared build directory, with TMPDIR in the action's temp dir.
local c = import 'common.libsonnet';
{
  buildDirectoryPath: c.root + '/worker/build',  // identical to the worker's
  grpcServers: [{ listenPaths: [c.root + '/worker/runner.sock'], authenticationPolicy: c.allow }],
  global: c.diag(c.diagPort.runner),
  setTmpdirEnvironmentVariable: true,
}
