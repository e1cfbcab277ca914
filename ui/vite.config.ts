import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The build goes to dist/, which `plenum up` serves (and the release binary embeds,
// see cli/build.rs). Relative asset paths: the page is served from `/` of the node's
// local API address, whatever its port.
export default defineConfig({
  plugins: [svelte()],
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // One small chunk set; no inline data: URLs (the page's CSP allows 'self' only).
    assetsInlineLimit: 0,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
