// bb_runner: runs the worker's actions in the shared build directory, with TMPDIR in the action's temp dir.
local c = import 'common.libsonnet';
{
  buildDirectoryPath: c.workerDir + '/build',  // identical to the worker's
  grpcServers: [{ listenPaths: [c.workerDir + '/runner.sock'], authenticationPolicy: c.allow }],
  global: c.diag(c.componentDiagPort),
  setTmpdirEnvironmentVariable: true,
}
