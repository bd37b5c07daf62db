#!/bin/sh
# xcc lab echo server: answers every TCP connection on the given ports with the client address it
# saw (like the seeds' echoserver), as a tiny HTTP/1.0 response that curl and nc both print.
# usage: echo-server.sh NAME PORT...
set -eu
name=$1
shift
here=$(dirname "$0")
export XCC_ECHO_NAME="$name"
for port in "$@"; do
  socat -T 2 "TCP-LISTEN:${port},fork,reuseaddr,backlog=128" "EXEC:${here}/echo-reply.sh" &
done
wait
