#!/usr/bin/env bash
# A stand-in for a coding-agent CLI, for the process-runner and git-workspace tests.
# Behaviour is chosen by the first argument:
#   write FILE CONTENT        write CONTENT to FILE (relative to cwd), print a JSON line, exit 0
#   env FILE                  dump the whole environment, NUL-separated (env -0), to FILE; exit 0
#   ids FILE                  write "pid ppid pgid sid" of this process to FILE; exit 0
#   json-lines N DELAY        print N JSON lines, DELAY seconds apart; exit 0
#   stall                     print nothing, forever
#   chatter                   print a line every 0.2 s, forever
#   grandchild PIDFILE MODE   start a background grandchild that ignores SIGTERM and writes its pid to
#                             PIDFILE, wait for that file, then behave as MODE (stall | chatter | exit)
#   escape PIDFILE            start a process in a session of its own (it leaves our group) that keeps
#                             stdout open for 30 s and writes its pid to PIDFILE; exit 0
#   ignore-term PIDFILE       ignore SIGTERM itself, write its pid to PIDFILE, print nothing, forever
#   stdin                     read stdin to EOF (cat), then print "stdin-closed BYTES"; exit 0
#   flood BYTES               print BYTES 'x' characters on stdout, then "END"; exit 0
#   flood-stderr LINES        print LINES numbered lines on stderr; exit 0
#   utf8                      print multi-byte UTF-8 text on stdout; exit 0
#   exit CODE                 print "bye" on stderr, exit with CODE
#   --version                 print "fake-agent 1.0"; exit 0 (the runner's preflight)
#   fail-transient            print an HTTP 529 overloaded error as a JSON line; exit 1
# Every "forever" is bounded (10 min) so a broken test cannot leave a process behind for good.
set -u

forever() { # $1 = stall | chatter
  local i
  for ((i = 0; i < 3000; i++)); do
    if [[ "$1" == chatter ]]; then echo "{\"type\":\"tick\",\"n\":$i}"; fi
    sleep 0.2
  done
}

mode="${1:-}"
shift || true
case "$mode" in
  write)
    printf '%s\n' "$2" > "$1"
    echo '{"type":"result","is_error":false,"result":"wrote '"$1"'"}'
    ;;
  env)
    env -0 > "$1"
    ;;
  ids)
    read -r -a stat < /proc/$$/stat
    echo "$$ ${stat[3]} ${stat[4]} ${stat[5]}" > "$1"
    ;;
  json-lines)
    for ((i = 1; i <= $1; i++)); do
      echo "{\"type\":\"step\",\"n\":$i}"
      sleep "$2"
    done
    ;;
  stall)
    forever stall
    ;;
  chatter)
    forever chatter
    ;;
  grandchild)
    pidfile="$1"
    (
      trap '' TERM
      echo "$BASHPID" > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
      for ((i = 0; i < 3000; i++)); do sleep 0.2; done
    ) > /dev/null 2>&1 &
    for ((i = 0; i < 100; i++)); do [[ -e "$pidfile" ]] && break; sleep 0.05; done
    echo '{"type":"started-grandchild"}'
    if [[ "$2" == exit ]]; then exit 0; fi
    forever "$2"
    ;;
  escape)
    setsid bash -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; for ((i = 0; i < 300; i++)); do sleep 0.1; done' _ "$1" &
    for ((i = 0; i < 100; i++)); do [[ -e "$1" ]] && break; sleep 0.05; done
    echo '{"type":"escaped"}'
    ;;
  ignore-term)
    trap '' TERM
    echo "$$" > "$1.tmp" && mv "$1.tmp" "$1"
    forever stall
    ;;
  stdin)
    bytes=$(cat | wc -c)
    echo "stdin-closed $bytes"
    ;;
  flood)
    head -c "$1" /dev/zero | tr '\0' 'x'
    echo
    echo END
    ;;
  flood-stderr)
    for ((i = 1; i <= $1; i++)); do echo "stderr line $i" >&2; done
    ;;
  utf8)
    for ((i = 0; i < 200; i++)); do printf 'é€😀'; done
    echo
    ;;
  --version)
    echo "fake-agent 1.0"
    ;;
  fail-transient)
    echo '{"type":"error","message":"API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"}'
    echo 'API Error: 529 Overloaded' >&2
    exit 1
    ;;
  exit)
    echo bye >&2
    exit "$1"
    ;;
  *)
    echo "fake-agent: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
