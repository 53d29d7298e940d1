import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Either, Option } from "effect"
import { parseDotenv, renderDotenv } from "../domain/dotenv.js"
import { parseKnownPeersFile } from "../domain/knownPeersFile.js"
import { cloneNode, type NodeFolder, NodeFolderError, readNodeFolder } from "./nodeFolders.js"
import { portAfter, remapLocalPeers } from "./ports.js"

/** Rewrites one folder's PORT and the local ports in its known-peers.json; answers whether anything changed. */
const moveFolder = (folder: string, port: number, mapping: ReadonlyMap<number, number>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const envFile = path.join(folder, ".env")
    const env = parseDotenv(yield* fs.readFileString(envFile))
    const peersFile = path.join(folder, "known-peers.json")
    const peers = parseKnownPeersFile(yield* fs.readFileString(peersFile))
    if (Either.isLeft(peers)) return yield* new NodeFolderError({ message: `${peersFile} ${peers.left}` })
    const moved = remapLocalPeers(peers.right, mapping)
    const changed = env.get("PORT") !== String(port) || moved.some((entry, i) => entry !== peers.right[i])
    if (changed) {
      env.set("PORT", String(port))
      yield* fs.writeFileString(envFile, renderDotenv(env))
      yield* fs.writeFileString(peersFile, JSON.stringify(moved))
    }
    return changed
  })

/**
 * Makes node-1..node-count ready to start. Missing folders are cloned from node-1 (node-1 itself is the
 * template and must exist). With a base port, node-N is moved to base+N-1: its .env PORT, and the
 * known peers that pointed at the network's old ports, so the nodes still find each other.
 */
export const prepareNetworkFolders = (directory: string, count: number, basePort: Option.Option<number>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const folderOf = (n: number) => path.join(directory, `node-${n}`)
    if (!(yield* fs.exists(folderOf(1)))) {
      return yield* new NodeFolderError({ message: `network: ${folderOf(1)} is missing; it is the template` })
    }
    // Each node's port as it is (or as clone-node would make it): what known peers may point at.
    const oldPorts: Array<number> = []
    for (let n = 1; n <= count; n++) {
      const exists = yield* fs.exists(folderOf(n))
      oldPorts.push(exists ? (yield* readNodeFolder(folderOf(n))).port : portAfter(oldPorts, 4001))
    }
    const newPorts = Option.match(basePort, {
      onNone: () => oldPorts,
      onSome: (base) => oldPorts.map((_, i) => base + i),
    })
    const mapping = new Map(oldPorts.map((port, i) => [port, newPorts[i] ?? port]))
    const folders: Array<NodeFolder> = []
    for (let n = 1; n <= count; n++) {
      const port = newPorts[n - 1] ?? 0
      if (!(yield* fs.exists(folderOf(n)))) {
        // Cloned after node-1 was moved, so it copies node-1's moved known peers.
        yield* cloneNode(directory, { number: n, port })
        yield* Console.log(`created node-${n} (PORT=${port})`)
      } else if (Option.isSome(basePort) && (yield* moveFolder(folderOf(n), port, mapping))) {
        yield* Console.log(`node-${n}: PORT=${port} (was ${oldPorts[n - 1]}), known peers moved with it`)
      }
      folders.push(yield* readNodeFolder(folderOf(n)))
    }
    return folders
  })
