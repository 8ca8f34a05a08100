import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { goma, type IExecReq } from "../goma/proto.ts";
import { R } from "../reapi/proto.ts";
import { digestOf, type Digest } from "../digest/digest.ts";
import { buildAction, type ActionOptions, type BuiltAction, type CommandBuilder, type ResolvedInput } from "./action.ts";
import { DEFAULT_ENV_PREFIXES } from "./exec-root.ts";
import { ExecAdapter } from "./exec.ts";
import { FileStore } from "./file-store.ts";
import type { Reapi } from "./reapi.ts";
import { MANIFEST_PATH, ROOT_TOKEN, WRAPPER_PATH } from "./wrapper.ts";

/**
 * buildAction: resolved inputs + ExecReq + options → Command, input root, Action and their digests,
 * with no I/O. Inputs are given as digests only; reading their content would throw.
 */
const utf8 = new TextEncoder();
const PLATFORM = [{ name: "OSFamily", value: "linux" }];

function input(abs: string, text: string, filename = abs): ResolvedInput {
  return {
    filename, abs, digest: digestOf(utf8.encode(text)), isExecutable: false,
    content: () => assert.fail(`buildAction read the content of ${abs}`),
  };
}

/** A Command builder that records what it was asked and returns a fixed Command. */
function plainCommand(): { build: CommandBuilder; calls: [string, string[], string[]][] } {
  const calls: [string, string[], string[]][] = [];
  return {
    calls,
    build: (root, outputFiles, outputDirs) => {
      calls.push([root, outputFiles, outputDirs]);
      return { arguments: [WRAPPER_PATH, "gcc", "-c", "a.c"], outputPaths: [...outputFiles, ...outputDirs].sort(), outputFiles };
    },
  };
}

function options(command: CommandBuilder, more: Partial<ActionOptions> = {}): ActionOptions {
  return { envPrefixes: DEFAULT_ENV_PREFIXES, platform: PLATFORM, actionTimeoutSec: 900, command, ...more };
}

function req(cwd: string, more: Partial<IExecReq> = {}): IExecReq {
  return { commandSpec: { name: "gcc" }, cwd, arg: ["gcc", "-c", "a.c", "-o", "out/a.o"], expectedOutputFiles: ["out/a.o"], ...more };
}

function built(r: BuiltAction | { badRequest: string }): BuiltAction {
  if ("badRequest" in r) assert.fail(`bad request: ${r.badRequest}`);
  return r;
}

/** The Directory at `dir` (relative to the root, "" for the root) decoded from the action's blobs. */
function directory(b: BuiltAction, dir = ""): R.Directory {
  let d: Digest = b.inputRootDigest;
  for (const seg of dir.split("/").filter(Boolean)) {
    const node = R.Directory.decode(b.blobs.get(d.hash)!.bytes!).directories.find((n) => n.name === seg);
    assert.ok(node, `no directory ${seg} in ${dir}`);
    d = { hash: node.digest!.hash!, sizeBytes: Number(node.digest!.sizeBytes) };
  }
  return R.Directory.decode(b.blobs.get(d.hash)!.bytes!);
}

function text(b: BuiltAction, relPath: string): string {
  const dir = relPath.includes("/") ? relPath.slice(0, relPath.lastIndexOf("/")) : "";
  const name = relPath.slice(relPath.lastIndexOf("/") + 1);
  const node = directory(b, dir).files.find((f) => f.name === name);
  assert.ok(node, `no file ${relPath}`);
  return new TextDecoder().decode(b.blobs.get(node.digest!.hash!)!.bytes!);
}

describe("buildAction()", () => {
  const cwd = "/home/u/proj";
  const inputs = () => [input("/home/u/proj/a.c", "int a;", "a.c"), input("/home/u/proj/inc/a.h", "#pragma once"),
    input("/usr/include/stdio.h", "stdio"), input("/usr/include/errno.h", "errno")];

  test("buildAction() is deterministic: the same request and inputs give the same bytes and digests", () => {
    const one = built(buildAction(req(cwd), cwd, inputs(), options(plainCommand().build)));
    const two = built(buildAction(req(cwd), cwd, inputs(), options(plainCommand().build)));
    assert.deepEqual(two.actionDigest, one.actionDigest);
    assert.deepEqual([...two.blobs.keys()].sort(), [...one.blobs.keys()].sort());
    for (const [h, b] of one.blobs) if (b.bytes) assert.deepEqual(two.blobs.get(h)!.bytes, b.bytes);
    // The digests are those of the serialized messages, and every blob is listed under its digest.
    assert.deepEqual(one.commandDigest, digestOf(R.Command.encode(one.command).finish()));
    assert.deepEqual(one.actionDigest, digestOf(R.Action.encode(one.action).finish()));
    for (const [h, b] of one.blobs) {
      assert.equal(b.digest.hash, h);
      if (b.bytes) assert.deepEqual(digestOf(b.bytes), b.digest);
    }
    const action = R.Action.decode(one.blobs.get(one.actionDigest.hash)!.bytes!);
    assert.equal(action.commandDigest!.hash, one.commandDigest.hash);
    assert.equal(action.inputRootDigest!.hash, one.inputRootDigest.hash);
    assert.equal(Number(action.timeout?.seconds), 900);
    assert.deepEqual((action.platform?.properties ?? []).map((p) => [p.name, p.value]), [["OSFamily", "linux"]]);
    assert.equal(action.doNotCache, false);
  });

  test("buildAction(): an input's content, the input order or the platform changes the Action digest as it should", () => {
    const base = built(buildAction(req(cwd), cwd, inputs(), options(plainCommand().build))).actionDigest;
    const reordered = built(buildAction(req(cwd), cwd, inputs().reverse(), options(plainCommand().build))).actionDigest;
    assert.deepEqual(reordered, base, "the tree and the manifest are sorted, so input order does not matter");
    const changed = inputs();
    changed[1] = input("/home/u/proj/inc/a.h", "#pragma once\nint x;");
    assert.notDeepEqual(built(buildAction(req(cwd), cwd, changed, options(plainCommand().build))).actionDigest, base);
    const sysChanged = inputs();
    sysChanged[2] = input("/usr/include/stdio.h", "another stdio");
    assert.notDeepEqual(built(buildAction(req(cwd), cwd, sysChanged, options(plainCommand().build))).actionDigest, base,
      "an env-provided input is in the manifest, so its digest is part of the action");
    const arm = options(plainCommand().build, { platform: [{ name: "OSFamily", value: "linux" }, { name: "arch", value: "arm64" }] });
    assert.notDeepEqual(built(buildAction(req(cwd), cwd, inputs(), arm)).actionDigest, base);
    const lookupOnly = built(buildAction(req(cwd, { cachePolicy: goma.ExecReq.CachePolicy.LOOKUP_ONLY }), cwd, inputs(), options(plainCommand().build)));
    assert.equal(lookupOnly.action.doNotCache, true);
    assert.notDeepEqual(lookupOnly.actionDigest, base);
  });

  test("buildAction(): the tree holds the root's inputs, wrapper, manifest and output dirs, every list sorted", () => {
    const cmd = plainCommand();
    const b = built(buildAction(req(cwd, { expectedOutputFiles: ["out/a.o", "out/a.d"] }), cwd,
      [input("/home/u/proj/z.c", "z"), ...inputs(), input("/home/u/proj/B.h", "B")], options(cmd.build)));
    assert.equal(b.root, "/home/u/proj");
    assert.deepEqual(cmd.calls, [["/home/u/proj", ["out/a.o", "out/a.d"], []]], "the builder gets root-relative outputs");
    const root = directory(b);
    assert.deepEqual(root.files.map((f) => f.name), ["B.h", "a.c", "z.c"]);
    assert.deepEqual(root.directories.map((d) => d.name), [".goma", "inc", "out"]);
    assert.deepEqual(directory(b, "out").files, [], "the output dir exists, empty");
    const goma_ = directory(b, ".goma");
    assert.deepEqual(goma_.files.map((f) => [f.name, f.isExecutable]), [["env-manifest", false], ["run.sh", true]]);
    const manifest = text(b, MANIFEST_PATH);
    const errno = digestOf(utf8.encode("errno")).hash;
    const stdio = digestOf(utf8.encode("stdio")).hash;
    assert.equal(manifest, `${errno}  /usr/include/errno.h\n${stdio}  /usr/include/stdio.h\n`, "sorted by path");
    assert.ok(!b.blobs.has(stdio), "an env-provided input is not uploaded");
    assert.equal(b.blobs.get(digestOf(utf8.encode("z")).hash)!.input!.abs, "/home/u/proj/z.c", "an input's blob is its content source");
    assert.deepEqual([...b.outputsByRel], [["out/a.o", "out/a.o"], ["out/a.d", "out/a.d"]]);
  });

  test("buildAction(): a toolchain symlink inside the root is a SymlinkNode; an input with the same name wins", () => {
    const b = built(buildAction(req(cwd, {
      toolchainSpecs: [{ path: "tools/gcc", symlinkPath: "/usr/bin/gcc" }, { path: "/opt/gcc", symlinkPath: "/usr/bin/gcc" },
        { path: "a.c", symlinkPath: "elsewhere.c" }],
    }), cwd, inputs(), options(plainCommand().build)));
    assert.deepEqual(directory(b, "tools").symlinks.map((l) => [l.name, l.target]), [["gcc", "/usr/bin/gcc"]]);
    assert.deepEqual(directory(b).symlinks, []);
    assert.ok(directory(b).files.some((f) => f.name === "a.c"));
  });

  test("buildAction() says why a request cannot run remotely", () => {
    const cmd = plainCommand();
    assert.deepEqual(buildAction(req(cwd, { expectedOutputFiles: [] }), cwd, inputs(), options(cmd.build)),
      { badRequest: "expected_output_files is empty: goma needs the outputs to collect" });
    const noRoot = buildAction(req(cwd), cwd, [...inputs(), input("/srv/other/b.h", "b")], options(cmd.build));
    assert.ok("badRequest" in noRoot && noRoot.badRequest.startsWith("no common root for the inputs below /usr/"), JSON.stringify(noRoot));
    assert.match((noRoot as { badRequest: string }).badRequest, /\/srv\/other\/b\.h/);
    assert.deepEqual(buildAction(req(cwd), cwd, [input("/home/u/proj/.goma/run.sh", "x", ".goma/run.sh")], options(cmd.build)),
      { badRequest: `input ".goma/run.sh" collides with goma's reserved directory .goma/` });
    assert.deepEqual(cmd.calls, [], "no Command is built for a request that cannot run");
  });
});

describe("buildAction() with ExecAdapter's Command", () => {
  /** The Reapi is never called while an action is built. */
  const reapi = new Proxy({}, { get: (_t, name) => () => assert.fail(`Reapi.${String(name)} called`) }) as Reapi;
  const adapter = new ExecAdapter({ reapi, files: new FileStore() });

  function compile(home: string): BuiltAction {
    const cwd = `${home}/src/out`;
    const r: IExecReq = {
      cwd,
      arg: ["gcc", `-I${home}/src/inc`, "-c", "../a.c", "-o", "a.o", "-MD", "-MF", "a.d", `-fdebug-prefix-map=${home}/src=.`],
      env: ["LANG=C", `CPATH=${home}/src/inc`, "HOME=" + home],
      expectedOutputFiles: ["a.o", "a.d"],
      commandSpec: { name: "gcc", localCompilerPath: "/usr/bin/gcc" },
      toolchainSpecs: [{ path: "/usr/bin/gcc", hash: "0".repeat(64), size: 1, isExecutable: true }],
    };
    const inputs = [input(`${home}/src/a.c`, "int a;", "../a.c"), input(`${home}/src/inc/a.h`, "#pragma once"), input("/usr/include/stdio.h", "stdio")];
    return built(buildAction(r, cwd, inputs, { envPrefixes: DEFAULT_ENV_PREFIXES, platform: PLATFORM, actionTimeoutSec: 900, command: adapter.commandBuilder(r, cwd) }));
  }

  test("buildAction(): the client root is tokenized; two checkouts differ only in GOMA_CLIENT_ROOT (the outputs' paths)", () => {
    const a = compile("/home/alice");
    const b = compile("/home/bob");
    assert.equal(a.root, "/home/alice/src");
    assert.deepEqual(b.inputRootDigest, a.inputRootDigest);
    assert.notDeepEqual(b.actionDigest, a.actionDigest);
    const clientRoot = (x: BuiltAction) => x.command.environmentVariables!.find((e) => e.name === "GOMA_CLIENT_ROOT")?.value;
    assert.deepEqual([clientRoot(a), clientRoot(b)], ["/home/alice/src", "/home/bob/src"]);
    const withoutRoot = (x: BuiltAction) => ({ ...x.command, environmentVariables: x.command.environmentVariables!.filter((e) => e.name !== "GOMA_CLIENT_ROOT") });
    assert.deepEqual(withoutRoot(b), withoutRoot(a));
    const args = a.command.arguments!;
    assert.equal(args[0], WRAPPER_PATH);
    assert.ok(args.includes(`-I${ROOT_TOKEN}/inc`), args.join(" "));
    assert.ok(args.includes(`-fdebug-prefix-map=${ROOT_TOKEN}=.`), args.join(" "));
    assert.ok(!args.join(" ").includes("/home/alice"));
    const env = a.command.environmentVariables!;
    assert.deepEqual(env.map((e) => e.name), [...env.map((e) => e.name)].sort(), "environment sorted by name");
    assert.equal(env.find((e) => e.name === "CPATH")!.value, `${ROOT_TOKEN}/inc`);
    assert.equal(env.find((e) => e.name === "HOME"), undefined, "only the envs that matter are forwarded");
    assert.deepEqual(a.command.outputPaths, ["out/a.d", "out/a.o"], "outputs relative to the root, sorted");
  });
});
