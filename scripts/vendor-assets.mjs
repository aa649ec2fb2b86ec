// Copy the browser files Guichet serves from node_modules into app/static/vendor.
// Run by `make assets` after `npm install`; the pages load nothing from the internet.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const target = join(root, "app", "static", "vendor");

// [package, file or folder inside it, destination under vendor/]
const FILES = [
  ["bpmn-js", "dist/bpmn-modeler.production.min.js", "bpmn-js/bpmn-modeler.min.js"],
  ["bpmn-js", "dist/bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-viewer.min.js"],
  ["bpmn-js", "dist/assets/diagram-js.css", "bpmn-js/diagram-js.css"],
  ["bpmn-js", "dist/assets/bpmn-js.css", "bpmn-js/bpmn-js.css"],
  ["bpmn-js", "dist/assets/bpmn-font/css", "bpmn-js/bpmn-font/css"],
  ["bpmn-js", "dist/assets/bpmn-font/font", "bpmn-js/bpmn-font/font"],
  ["bpmn-js", "LICENSE", "bpmn-js/LICENSE"],
  ["chart.js", "dist/chart.umd.min.js", "chart.js/chart.umd.min.js"],
  ["chart.js", "LICENSE.md", "chart.js/LICENSE.md"],
];

rmSync(target, { recursive: true, force: true });
const versions = {};
for (const [pkg, from, to] of FILES) {
  const source = join(modules, pkg, from);
  if (!existsSync(source)) {
    console.error(`missing ${pkg}/${from}: run npm install first`);
    process.exit(1);
  }
  const dest = join(target, to);
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(source, dest, { recursive: true });
  versions[pkg] = JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;
}
writeFileSync(join(target, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`vendored ${Object.entries(versions).map(([k, v]) => `${k}@${v}`).join(", ")} into app/static/vendor`);
