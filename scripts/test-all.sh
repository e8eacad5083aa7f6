#!/usr/bin/env bash
# Everything CI runs, in order: install, lint, typecheck, build, every test (unit, integration with
# real Redis and SQLite, end-to-end in Chromium). Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

bash scripts/setup.sh --for-tests
echo "== lint" >&2
npm run --silent lint
echo "== typecheck" >&2
npm run --silent typecheck
echo "== build" >&2
npm run --silent build >/dev/null
echo "== test" >&2
mkdir -p out
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=out/test-results.json || status=$?
node -e '
  const r = require("./out/test-results.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  // A file whose setup failed fails with no failed test (its tests count as skipped): it is named too.
  const brokenFiles = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"));
  console.log(
    `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : "") +
      (brokenFiles.length ? `, ${brokenFiles.length} file(s) failed outside a test` : ""),
  );
  if (r.numTotalTests === 0) { console.error("no tests ran"); process.exit(1); }
  // The failures again, last: a log that keeps only its tail still says what failed and why.
  const plain = (text) => text.replace(/\u001b\[[0-9;]*m/g, "");
  for (const file of r.testResults)
    for (const t of file.assertionResults.filter((a) => a.status === "failed"))
      console.log(`FAILED ${file.name.replace(process.cwd() + "/", "")} > ${t.fullName}\n  ${plain(t.failureMessages.join("\n")).slice(0, 1500).replace(/\n/g, "\n  ")}`);
  for (const file of brokenFiles)
    console.log(`FAILED ${file.name.replace(process.cwd() + "/", "")} (in a hook or at import: see "Failed Suites" above)\n  ${plain(file.message || "").slice(0, 1500).replace(/\n/g, "\n  ")}`);
  if (brokenFiles.length > 0) process.exitCode = 1;
' || status=1
echo "== done in $(( $(date +%s) - started )) s" >&2
exit $status
