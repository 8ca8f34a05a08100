import { test } from "node:test";
import assert from "node:assert/strict";
import { infrastructureFailure } from "./infra-failure.ts";

test("infrastructureFailure: OS resource errors, signals and a wrapper that never ran are infrastructure; compile errors are results", () => {
  const infra: [number, string, boolean, RegExp][] = [
    [1, "/tmp/cc.s: Fatal error: can't fill 256 bytes in section .data of big.o: 'No space left on device'\n", true, /^no space left on the worker's disk: .*big\.o/],
    [1, "cc1: error: a.o: Disk quota exceeded\n", true, /disk quota/],
    [1, "gcc: fatal error: cannot execute 'cc1': vfork: Resource temporarily unavailable\n", true, /could not start a process/],
    [4, "gcc: internal compiler error: Killed signal terminated program cc1\n", true, /killed on the worker/],
    [1, "cc1: out of memory allocating 65536 bytes\nvirtual memory exhausted: Cannot allocate memory\n", true, /ran out of memory/],
    [137, "", true, /killed on the worker by signal 9/],
    [127, "bash: line 1: gcc: command not found\n", true, /could not execute the compiler \(exit 127\)/],
    [1, "sh: cannot open .goma/run.sh\n", false, /wrapper did not run/],
    [1, "gcc: fatal error: cannot execute \u2018cc1\u2019: execvp: No such file or directory\ncompilation terminated.\n", true, /could not run a program of the compiler/],
    [1, "gcc: fatal error: cannot execute 'as': execvp: No such file or directory\n", true, /could not run a program of the compiler/],
  ];
  for (const [code, stderr, ran, want] of infra) assert.match(infrastructureFailure(code, stderr, ran) ?? "(none)", want, stderr);
  const results: [number, string][] = [
    [0, "warning: No space left on device is just a string here\n"],
    [1, "a.c:1:18: error: 'undeclared_thing' undeclared (first use in this function)\n"],
    [4, "a.c:3:1: internal compiler error: in expand_expr, at expr.c:1\n"],
    [1, ""],
  ];
  for (const [code, stderr] of results) assert.equal(infrastructureFailure(code, stderr, true), undefined, stderr);
});
