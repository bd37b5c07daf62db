# xcc probe (run by `sh -c` in a probe pod or an ephemeral container): one TCP connection (and,
# in http mode, one request) to the destination with a deadline, from a fixed source port so
# that captures can tell this connection from others. The result is the exit code and one line
# in the termination message:
#   0 connected, 1 timed out, 2 failed at once (refused or unreachable), 3 other error, 127 no curl
#   $1 destination address   $2 port   $3 seconds   $4 tcp|http   $5 source port
dst="$1"
port="$2"
seconds="$3"
mode="$4"
sport="$5"
message_file="${XCC_TERMINATION_MESSAGE_PATH:-/dev/termination-log}"
finish() {
  echo "xcc-probe $1"
  printf 'xcc-probe %s\n' "$1" >"$message_file" 2>/dev/null
  exit "$2"
}
command -v curl >/dev/null 2>&1 || finish "result=error exit=127 error=curl-not-found" 127
out=$(curl -sS --http0.9 -o /dev/null --local-port "$sport" --connect-timeout "$seconds" --max-time "$((seconds + 1))" \
  -w 'connect=%{time_connect} http=%{http_code} local=%{local_ip}:%{local_port}' "http://$dst:$port/" 2>&1)
code=$?
summary=$(printf '%s' "$out" | tr '\n' ' ' | sed 's/  */ /g')
connect=$(printf '%s' "$out" | sed -n 's/.*connect=\([0-9.]*\).*/\1/p')
# curl reports the time the TCP handshake completed; 0 means it never completed
if awk -v t="${connect:-0}" 'BEGIN { exit !(t > 0) }'; then
  finish "result=connected curl=$code mode=$mode $summary" 0
fi
case "$code" in
  28) finish "result=timeout curl=$code $summary" 1 ;;
  # curl 7.x says "Couldn't connect" for a RST and for an ICMP error alike; the captures tell which
  7) finish "result=failed curl=$code $summary" 2 ;;
  45) finish "result=error curl=$code $summary (the source port $sport is in use; run again)" 3 ;;
  *) finish "result=unreachable curl=$code $summary" 3 ;;
esac
