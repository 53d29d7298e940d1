import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { closest, editDistance } from "../src/cli/didYouMean.js"
import { parseNodeArguments } from "../src/cli/nodeArguments.js"
import { portAfter, remapLocalPeers } from "../src/cli/ports.js"

describe("the node's command line", () => {
  it("reads a folder, --port and --host (either spelling), --help and --version", () => {
    expect(parseNodeArguments([])).toEqual(Either.right({ _tag: "Run", folder: ".", overrides: new Map() }))
    expect(parseNodeArguments(["nodes/node-2", "--port", "5002", "--host=0.0.0.0"])).toEqual(
      Either.right({
        _tag: "Run",
        folder: "nodes/node-2",
        overrides: new Map([
          ["PORT", "5002"],
          ["HOST", "0.0.0.0"],
        ]),
      }),
    )
    expect(parseNodeArguments(["x", "--version"])).toEqual(Either.right({ _tag: "Version" }))
    expect(parseNodeArguments(["-h"])).toEqual(Either.right({ _tag: "Help" }))
  })

  it("refuses what it cannot run with one line, suggesting the option meant", () => {
    expect(parseNodeArguments(["--prot", "5"])).toEqual(Either.left("unknown option '--prot'; did you mean '--port'?"))
    expect(parseNodeArguments(["--port", "0"])).toEqual(Either.left('--port takes a port from 1 to 65535, not "0"'))
    expect(parseNodeArguments(["--port"])).toEqual(Either.left("--port needs a value, e.g. --port 4001"))
    expect(parseNodeArguments(["a", "b"])).toEqual(Either.left("one NODE_FOLDER only, got 'a' and 'b'"))
  })
})

describe("ports of node folders", () => {
  it("a new node takes the port after the highest, or the first when there is none", () => {
    expect(portAfter([4001, 4007, 4003], 4001)).toBe(4008)
    expect(portAfter([], 4001)).toBe(4001)
  })

  it("known peers on local ports move with their nodes; others stay", () => {
    const mapping = new Map([
      [4001, 5001],
      [4003, 5003],
    ])
    expect(
      remapLocalPeers(
        ["ws://localhost:4001", "ws://127.0.0.1:4003", "ws://example.com:4001", "ws://localhost:4002", "junk"],
        mapping,
      ),
    ).toEqual(["ws://localhost:5001", "ws://127.0.0.1:5003", "ws://example.com:4001", "ws://localhost:4002", "junk"])
  })

  it("did you mean: the closest candidate within two edits, or a prefix", () => {
    expect(closest("--jsn", ["--json", "--help"])).toBe("--json")
    expect(closest("--for", ["--force", "--dry-run"])).toBe("--force")
    expect(closest("--zzzzzz", ["--json"])).toBeUndefined()
    expect([editDistance("kitten", "sitting"), editDistance("", "abc"), editDistance("same", "same")]).toEqual([
      3, 3, 0,
    ])
  })
})
