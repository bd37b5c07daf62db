# xcc capture (run by `sh -c` in a host-network pod pinned to a node, or on a VM):
# print the node's NAT rules and IPv4 routes, then capture the flow with tcpdump for a bounded
# time, line-buffered, while a few sanity packets to 127.0.0.1 prove that the capture sees packets.
#   $1 tcpdump filter of the flow   $2 seconds to capture   $3 sanity port on 127.0.0.1
filter="$1"
seconds="$2"
sanity_port="$3"
#@flavour
echo "=== xcc:iptables-nat"
$save -t nat 2>&1 || echo "xcc: iptables-save failed with exit code $?"
echo "=== xcc:ip-route"
ip -4 route show 2>&1 || echo "xcc: ip route failed with exit code $?"
echo "=== xcc:tcpdump"
command -v tcpdump >/dev/null 2>&1 || { echo "xcc: tcpdump: command not found"; exit 127; }
# GNU timeout puts its command in a process group of its own unless --foreground: keep tcpdump
# in ours so that stopping the capture (pod deletion, SIGKILL of the group) stops it too
if timeout --foreground 1 true 2>/dev/null; then bounded="timeout --foreground"; else bounded="timeout"; fi
# -S: absolute sequence numbers, so that the probe's SYN is known by its initial sequence number
# on every host, whatever NAT did to its addresses and ports
$bounded "$seconds" tcpdump -nn -S -tt -l -i any "($filter) or (tcp and dst host 127.0.0.1 and dst port $sanity_port)" 2>&1 &
capture=$!
# a polite stop (SIGTERM from pod deletion, Ctrl-C) ends the capture cleanly
trap 'kill "$capture" 2>/dev/null; wait "$capture" 2>/dev/null; echo "=== xcc:end 143"; exit 143' TERM INT HUP
# a connection attempt to a closed port on loopback: a SYN the filter matches, answered by a RST
i=0
while [ "$i" -lt 30 ] && kill -0 "$capture" 2>/dev/null; do
  curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$sanity_port/" >/dev/null 2>&1
  sleep 0.1
  i=$((i + 1))
done
wait "$capture"
code=$?
# timeout ends tcpdump with 124: the capture ran its full time, which is success
[ "$code" -eq 124 ] && code=0
echo "=== xcc:end $code"
exit "$code"
