# xcc probe (run by `sh -c` in a probe pod or an ephemeral container): one TCP connection (and,
# in http mode, one request) to the destination with a deadline, from a fixed source port so
# that captures can tell this connection from others. The result is the exit code and one line
# in the termination message:
#   0 connected, 1 timed out, 2 failed at once (refused or unreachable), 3 other error, 127 no curl
#   $1 destination address   $2 port   $3 seconds   $4 tcp|http   $5 source port
# In dns mode ($1 a name, $4 dns) it resolves the name as the pod's own libc does, through the
# pod's /etc/resolv.conf (nameserver, search path, ndots), bounded by $3 seconds:
#   0 resolved (addresses=a,b), 1 timed out, 2 not found, 3 other error, 127 no getent
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
if [ "$mode" = dns ]; then
  conf="nameserver=$(awk '$1 == "nameserver" { printf "%s%s", s, $2; s = "," }' /etc/resolv.conf 2>/dev/null)"
  conf="$conf search=$(awk '$1 == "search" { for (i = 2; i <= NF; i++) { printf "%s%s", s, $i; s = "," } }' /etc/resolv.conf 2>/dev/null)"
  conf="$conf ndots=$(sed -n 's/^options.*ndots:\([0-9]*\).*/\1/p' /etc/resolv.conf 2>/dev/null | head -n 1)"
  command -v getent >/dev/null 2>&1 || finish "result=error exit=127 error=getent-not-found $conf" 127
  # glibc: ahostsv4 is getaddrinfo for IPv4; a getent without that database (musl) says 1: hosts
  out=$(timeout "$seconds" getent ahostsv4 "$dst" 2>&1)
  code=$?
  if [ "$code" -eq 1 ]; then
    out=$(timeout "$seconds" getent hosts "$dst" 2>&1)
    code=$?
  fi
  addresses=$(printf '%s\n' "$out" | awk '$1 ~ /^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$/ && !seen[$1]++ { printf "%s%s", s, $1; s = "," }')
  case "$code" in
    0) [ -n "$addresses" ] && finish "result=resolved addresses=$addresses $conf" 0
       finish "result=not-found getent=0 $conf" 2 ;;
    # timeout(1) says 124 (busybox: 143): no answer within the bound
    124|143) finish "result=timeout after=${seconds}s $conf" 1 ;;
    2) finish "result=not-found getent=2 $conf" 2 ;;
    *) finish "result=error getent=$code $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-200) $conf" 3 ;;
  esac
fi
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
