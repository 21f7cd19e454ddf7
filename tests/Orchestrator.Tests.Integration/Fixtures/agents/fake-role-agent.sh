#!/usr/bin/env bash
# A scripted role agent for the role-pipeline end-to-end tests (a "generic" agent: the prompt file path
# is its only argument). It does what the prompt's "Artifacts to write" section asks, in the cwd:
#   - development (no artifacts): writes src/feature-round-N.txt
#   - review:  verdict REQUEST_CHANGES on the first call when FAKE_REJECT_ONCE=1, APPROVE after
#   - testing: result: PASS;  deploy: deploy_status: SUCCESS;  other stages: plain Markdown
# Every prompt is copied to $FAKE_PROMPT_DIR/<n>-<stage>.md so tests can read what the agent was told.
# With FAKE_HOLD=<stage> the agent of that stage touches $FAKE_PROMPT_DIR/holding-<stage> and waits (up to
# 25 s, under the runner's stall timeout) for $FAKE_PROMPT_DIR/release-<stage> before it writes anything, so a
# test can look at the world while that stage runs.
set -eu
prompt="$1"
stage=$(sed -n 's/^- Stage: \([a-z]*\).*/\1/p' "$prompt" | head -n 1)
round=$(sed -n 's/^- Developer round: \([0-9]*\).*/\1/p' "$prompt" | head -n 1)
dir="${FAKE_PROMPT_DIR:?}"
n=$(find "$dir" -maxdepth 1 -name '*.md' | wc -l)
cp "$prompt" "$dir/$(printf '%02d' $((n + 1)))-$stage.md"

if [[ -n "${FAKE_HOLD:-}" && "$stage" == "$FAKE_HOLD" ]]; then
  touch "$dir/holding-$stage"
  for _ in $(seq 1 250); do
    [[ -e "$dir/release-$stage" ]] && break
    sleep 0.1
  done
fi

artifacts=$(awk '/^## Artifacts to write/{on=1; next} /^## /{on=0} on' "$prompt" | sed -n 's/^- `\([^`]*\)`.*/\1/p')
if [[ "$stage" == development ]]; then
  mkdir -p src
  echo "implementation, round ${round:-1}" > "src/feature-round-${round:-1}.txt"
fi

for path in $artifacts; do
  if [[ "$path" == */ ]]; then
    mkdir -p "$path"
    printf '# ADR 0001\n\nDecided.\n' > "${path}0001-decision.md"
    continue
  fi
  mkdir -p "$(dirname "$path")"
  case "$stage" in
    review)
      if [[ "${FAKE_REJECT_ONCE:-0}" == 1 && ! -e "$dir/rejected" ]]; then
        touch "$dir/rejected"
        printf -- '---\nverdict: REQUEST_CHANGES\n---\n\n1. The health endpoint must return JSON, not plain text.\n2. Add a test for the 200 answer.\n' > "$path"
      else
        printf -- '---\nverdict: APPROVE\n---\n\nLooks good.\n' > "$path"
      fi
      ;;
    testing) printf -- '---\nresult: PASS\n---\n\nAll tests pass.\n' > "$path" ;;
    deploy) printf -- '---\ndeploy_status: SUCCESS\n---\n\nDeployed.\n' > "$path" ;;
    *) printf '# %s\n\nWritten by the fake %s agent.\n' "$path" "$stage" > "$path" ;;
  esac
done
echo "done: $stage"
