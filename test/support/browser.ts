import { existsSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"

/** Debian's chromium package; .ci/install-chromium installs it. */
export const chromiumPath = "/usr/bin/chromium"
export const hasChromium = existsSync(chromiumPath)

/** Headless Chromium with a fresh profile and nothing that reaches beyond this machine. */
export const launchBrowser = async () => {
  const profile = await mkdtemp(join(tmpdir(), "meshnode-chromium-"))
  return chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  })
}
