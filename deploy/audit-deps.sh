#!/usr/bin/env bash
# Audit every third-party package the lock file pins against the known-vulnerability
# data pip-audit can reach, and print one line per finding and a summary.
#
#   deploy/audit-deps.sh    exit 1 if a pinned package has a known vulnerability,
#                           3 if pip-audit gave no report at all, else 0
#
# A package the vulnerability service does not answer for is listed as not
# audited; that alone does not fail the run (mirrors and proxies often serve
# packages without the service's JSON API).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
uv export --frozen --all-packages --no-emit-workspace --quiet \
  --output-file "$work/requirements.txt"
status=0
timeout 600 uv run --frozen pip-audit --requirement "$work/requirements.txt" \
  --no-deps --disable-pip --vulnerability-service pypi --progress-spinner off \
  --format json --output "$work/audit.json" >"$work/audit.log" 2>&1 || status=$?

uv run --frozen python - "$work/audit.json" "$status" <<'PY'
import json
import sys

path, status = sys.argv[1], int(sys.argv[2])
try:
    with open(path) as handle:
        report = json.load(handle)
except (OSError, ValueError):
    print(f"audit: pip-audit produced no report (exit {status})")
    sys.exit(3)
packages = report["dependencies"]
skipped = [p for p in packages if "skip_reason" in p]
findings = [(p, v) for p in packages for v in p.get("vulns", [])]
for package, vuln in findings:
    fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
    print(f"audit: {package['name']} {package['version']}: {vuln['id']} ({fixed})")
print(
    f"audit: {len(packages)} pinned packages, {len(packages) - len(skipped)} audited, "
    f"{len(findings)} known vulnerabilities, {len(skipped)} not audited "
    "(the vulnerability service had no entry for them)"
)
sys.exit(1 if findings else 0)
PY
