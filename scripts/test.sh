#!/usr/bin/env bash
# Runs the test suite against the real local stack. Starts the stack if it is not running and,
# in that case only, stops it again afterwards, so CI leaves nothing running and a developer's
# running stack is left as it was.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# The JVM functions' own tests (JUnit) first: quick, and they need no stack.
mvn -q -B -ntp -Dstyle.color=never -f jvm/pom.xml test || exit 1

was_running=0
$BIN/streamscore stack status >/dev/null 2>&1 && was_running=1
$BIN/streamscore stack up || exit 1
$BIN/python -m pytest "$@"
status=$?
if [ $was_running -eq 0 ]; then $BIN/streamscore stack down >/dev/null || true; fi
exit $status
