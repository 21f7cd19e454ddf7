#!/usr/bin/env bash
# Installs the pinned coding-agent CLIs (OpenCode, Claude Code, Codex) from the npm registry into
# ${ORCH_AGENTS_DIR:-$HOME/.cache/orchestrator-agents} and prints their bin dir on stdout.
# Idempotent: when every pinned package is already installed at its pinned version, npm is not run.
# The real-CLI integration tests find the binaries through ORCH_AGENTS_BIN or this default dir.
set -euo pipefail

dir="${ORCH_AGENTS_DIR:-$HOME/.cache/orchestrator-agents}"
bin="$dir/node_modules/.bin"

# package name -> pinned version (keep in sync with tests/Orchestrator.Tests.Integration/Agents/README.md)
pins=(
  "opencode-ai@1.18.33"
  "@anthropic-ai/claude-code@2.1.197"
  "@openai/codex@0.169.0"
)

installed_version() {
  # Reads node_modules/<name>/package.json without node's module resolution (no network, no npm).
  local manifest="$dir/node_modules/$1/package.json"
  [ -f "$manifest" ] || return 0
  sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1
}

needs_install=0
for pin in "${pins[@]}"; do
  name="${pin%@*}"
  want="${pin##*@}"
  have="$(installed_version "$name")"
  if [ "$have" != "$want" ]; then
    echo "install-agents: $name is '${have:-absent}', want $want" >&2
    needs_install=1
  fi
done

if [ "$needs_install" = 1 ]; then
  mkdir -p "$dir"
  # --prefix keeps everything under $dir; no audit/fund calls; progress and notices go to stderr.
  npm install --prefix "$dir" --no-audit --no-fund --no-update-notifier "${pins[@]}" >&2
fi

# Each binary must start and print its version without network: the variables below switch off the
# CLIs' update checks and telemetry, HOME is a throwaway dir, and when the kernel lets us (root,
# unshare) the check runs in an empty network namespace so a hidden network call would show as a failure.
check_home="$(mktemp -d)"
trap 'rm -rf "$check_home"' EXIT
offline=()
if command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
  offline=(unshare -n)
fi
for cli in opencode claude codex; do
  if [ ! -x "$bin/$cli" ]; then
    echo "install-agents: $bin/$cli missing after install" >&2
    exit 1
  fi
  if ! out="$(cd "$check_home" && env -i PATH="$bin:/usr/local/bin:/usr/bin:/bin" HOME="$check_home" \
      XDG_CONFIG_HOME="$check_home/.config" XDG_DATA_HOME="$check_home/.local/share" \
      XDG_CACHE_HOME="$check_home/.cache" XDG_STATE_HOME="$check_home/.local/state" \
      CODEX_HOME="$check_home/.codex" \
      DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
      OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 \
      timeout 60 "${offline[@]}" "$bin/$cli" --version </dev/null 2>&1)"; then
    echo "install-agents: '$cli --version' failed offline: $out" >&2
    exit 1
  fi
  echo "install-agents: $cli $(printf '%s\n' "$out" | tail -n 1)" >&2
done

echo "$bin"
